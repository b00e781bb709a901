package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

// clock paces every candidate's microphone from one ticker: at each 20 ms tick it writes
// one packet to each microphone, so N candidates cost one timer wake-up per tick, not N.
type clock struct {
	mu   sync.Mutex
	mics map[*microphone]struct{}
	// batch is reused by tick to write outside the lock (only tick touches it)
	batch []*microphone
}

func newClock() *clock {
	return &clock{mics: make(map[*microphone]struct{})}
}

func (c *clock) add(m *microphone) {
	c.mu.Lock()
	c.mics[m] = struct{}{}
	c.mu.Unlock()
}

func (c *clock) remove(m *microphone) {
	c.mu.Lock()
	delete(c.mics, m)
	c.mu.Unlock()
}

// run ticks until ctx ends. A tick the program could not keep up with is dropped (the
// ticker does that), like a microphone frame lost to an overloaded machine.
func (c *clock) run(ctx context.Context) {
	ticker := time.NewTicker(packetDuration)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			c.tick()
		}
	}
}

func (c *clock) tick() {
	c.mu.Lock()
	c.batch = c.batch[:0]
	for m := range c.mics {
		c.batch = append(c.batch, m)
	}
	c.mu.Unlock()
	for _, m := range c.batch {
		m.tick()
	}
}

// microphone is a candidate's published audio track: the packets of the utterance being
// said, else a silent packet, one per clock tick, like a real microphone's continuous
// stream.
type microphone struct {
	track   *lksdk.LocalSampleTrack
	silence []byte

	mu        sync.Mutex
	saying    *utterance
	next      int            // index of the next packet of saying
	voicedEnd time.Time      // when saying's last voiced packet was written
	done      chan time.Time // gets voicedEnd once saying has been sent whole

	writeErrors atomic.Int64
}

func newMicrophone(track *lksdk.LocalSampleTrack, silence []byte) *microphone {
	return &microphone{track: track, silence: silence}
}

// say starts sending u from the next tick. The channel returned gets the wall time at
// which u's last voiced packet was written, once all of u (its trailing silence too)
// has been sent.
func (m *microphone) say(u *utterance) <-chan time.Time {
	done := make(chan time.Time, 1)
	m.mu.Lock()
	m.saying, m.next, m.done = u, 0, done
	m.mu.Unlock()
	return done
}

func (m *microphone) tick() {
	m.mu.Lock()
	data, voiced := m.silence, false
	var done chan time.Time
	if u := m.saying; u != nil {
		data, voiced = u.packets[m.next], m.next == u.lastVoiced
		m.next++
		if m.next == len(u.packets) {
			done, m.saying = m.done, nil
		}
	}
	m.mu.Unlock()

	// Duration alone sets the RTP timestamp: 960 ticks of the 48 kHz clock a packet.
	if err := m.track.WriteSample(media.Sample{Data: data, Duration: packetDuration}, nil); err != nil {
		m.writeErrors.Add(1)
	}
	if voiced {
		now := time.Now()
		m.mu.Lock()
		m.voicedEnd = now
		m.mu.Unlock()
	}
	if done != nil {
		m.mu.Lock()
		end := m.voicedEnd
		m.mu.Unlock()
		done <- end
	}
}
