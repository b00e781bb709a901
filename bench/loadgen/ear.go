package main

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ear hears the agent without decoding it: an Opus packet's size says whether it carries
// voice (tens of bytes and more) or silence (a few bytes, or none sent at all under
// DTX). It keeps the arrival time of every voiced packet.
type ear struct {
	voicedBytes int
	sizes       *sizeHistogram // nil unless --histogram

	mu     sync.Mutex
	voiced []time.Time // arrival times of the voiced packets, in order
	// wake gets a token when a voiced packet arrives (capacity 1: waiters re-check)
	wake chan struct{}
}

func newEar(voicedBytes int, sizes *sizeHistogram) *ear {
	return &ear{voicedBytes: voicedBytes, sizes: sizes, wake: make(chan struct{}, 1)}
}

// listen reads the agent's audio track until it ends. It reads raw packets into one
// buffer and parses them into one rtp.Packet, which is what track.ReadRTP does, without
// allocating a packet each time.
func (e *ear) listen(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return // the track or the connection closed
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		size := len(pkt.Payload) // RTP padding excluded
		if e.sizes != nil {
			e.sizes.add(size)
		}
		if size <= e.voicedBytes {
			continue
		}
		e.mu.Lock()
		e.voiced = append(e.voiced, time.Now())
		e.mu.Unlock()
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// firstVoicedAfter returns the arrival time of the first voiced packet at or after t,
// waiting for it until deadline (false then) or until gone is closed.
func (e *ear) firstVoicedAfter(t, deadline time.Time, gone <-chan struct{}) (time.Time, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		e.mu.Lock()
		i := sort.Search(len(e.voiced), func(i int) bool { return !e.voiced[i].Before(t) })
		var found time.Time
		if i < len(e.voiced) {
			found = e.voiced[i]
		}
		e.mu.Unlock()
		if !found.IsZero() {
			return found, true
		}
		select {
		case <-e.wake:
		case <-timer.C:
			return time.Time{}, false
		case <-gone:
			return time.Time{}, false
		}
	}
}

// waitQuiet returns once no voiced packet has arrived for quiet (true), or at deadline
// or when gone is closed (false). It sleeps until the moment the quiet would be over
// and looks again, so it costs one timer per voiced stretch, not one per packet.
func (e *ear) waitQuiet(quiet time.Duration, deadline time.Time, gone <-chan struct{}) bool {
	for {
		e.mu.Lock()
		var last time.Time
		if n := len(e.voiced); n > 0 {
			last = e.voiced[n-1]
		}
		e.mu.Unlock()
		wait := time.Until(last.Add(quiet))
		if wait <= 0 {
			return true
		}
		if time.Until(deadline) < wait {
			return false
		}
		select {
		case <-time.After(wait):
		case <-gone:
			return false
		}
	}
}

// sizeHistogram counts the agent's packets by payload size, for calibrating
// --voiced-bytes (--histogram).
type sizeHistogram struct {
	counts [1501]atomic.Int64
}

func (h *sizeHistogram) add(size int) {
	h.counts[min(size, len(h.counts)-1)].Add(1)
}
