package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// packetDuration is the only Opus packet duration the generator sends: its clock ticks
// every 20 ms and writes one packet per candidate per tick, as a microphone does.
const packetDuration = 20 * time.Millisecond

// utterance is one pre-encoded thing a candidate says: the Opus packets of an .ogg
// file, sent as they are (never decoded or re-encoded).
type utterance struct {
	name    string
	packets [][]byte
	// lastVoiced is the index of the last packet larger than --voiced-bytes: the end
	// of the voice, not of the file (espeak-ng leaves silence after the last word).
	lastVoiced int
}

// loadUtterance reads an Ogg Opus file and marks its last voiced packet.
func loadUtterance(path string, voicedBytes int) (*utterance, error) {
	packets, err := readOggOpus(path)
	if err != nil {
		return nil, err
	}
	u := &utterance{name: path, packets: packets, lastVoiced: -1}
	for i, p := range packets {
		if len(p) > voicedBytes {
			u.lastVoiced = i
		}
	}
	if u.lastVoiced < 0 {
		return nil, fmt.Errorf("%s: no packet is larger than --voiced-bytes=%d", path, voicedBytes)
	}
	return u, nil
}

// duration is how long the utterance takes to say, trailing silence included.
func (u *utterance) duration() time.Duration {
	return time.Duration(len(u.packets)) * packetDuration
}

// silentPacket is the last packet of the first utterance that ends in silence (a
// packet no larger than --voiced-bytes): what the microphone sends between utterances.
func silentPacket(voicedBytes int, utterances ...*utterance) ([]byte, error) {
	for _, u := range utterances {
		if last := u.packets[len(u.packets)-1]; len(last) <= voicedBytes {
			return last, nil
		}
	}
	return nil, errors.New("no input file ends with a silent packet (one no larger than " +
		"--voiced-bytes): add trailing silence to one of them")
}

// readOggOpus returns the Opus audio packets of an Ogg Opus file, in order, checking that
// each lasts 20 ms.
//
// pion's oggreader parses and checksums the pages but returns a page's payload whole,
// and opusenc puts up to a second of packets in one page. The packet boundaries are in
// the page's segment table (RFC 3533: a lacing value below 255 ends a packet, so a
// packet may also continue on the next page), which this reads from the same bytes:
// the file is in memory, so the page the reader is about to parse starts at the
// reader's current offset.
func readOggOpus(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	in := bytes.NewReader(data)
	ogg, _, err := oggreader.NewWith(in) // reads and checks the OpusHead page
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var packets [][]byte
	var partial []byte
	for {
		start := len(data) - in.Len()
		payload, _, err := ogg.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// the page header is 27 bytes; its last byte is the number of lacing values,
		// and the lacing values follow it
		lacing := data[start+27 : start+27+int(data[start+26])]
		offset := 0
		for _, size := range lacing {
			partial = append(partial, payload[offset:offset+int(size)]...)
			offset += int(size)
			if size < 255 {
				packets = append(packets, partial)
				partial = nil
			}
		}
	}
	if len(packets) < 2 || !bytes.HasPrefix(packets[0], []byte("OpusTags")) {
		return nil, fmt.Errorf("%s: not an Ogg Opus file with audio", path)
	}
	packets = packets[1:] // the OpusTags header
	for i, p := range packets {
		d, err := opusPacketDuration(p)
		if err != nil {
			return nil, fmt.Errorf("%s: packet %d: %w", path, i, err)
		}
		if d != packetDuration {
			return nil, fmt.Errorf("%s: packet %d lasts %v, not %v: encode it with "+
				"opusenc --framesize 20", path, i, d, packetDuration)
		}
	}
	return packets, nil
}

// opusPacketDuration reads an Opus packet's duration from its TOC byte (RFC 6716,
// section 3.1): the frame size from the configuration number, times the frame count.
func opusPacketDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, errors.New("empty Opus packet")
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, errors.New("truncated Opus packet")
		}
		frames = int(p[1] & 0x3f)
	}
	return frame * time.Duration(frames), nil
}
