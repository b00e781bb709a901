// Command loadgen is a low-cost load generator for the interview agent: many simulated
// candidates, each in a LiveKit room of its own, speaking pre-encoded Opus and timing the
// agent's replies from the candidate's side.
//
// Each candidate, started at i*spread/rooms seconds after the program starts:
//
//  1. dispatches the agent to the room <room-prefix>-<i>-<6 random hex digits> through
//     the server API (AgentDispatchService.CreateDispatch, which creates the room), with
//     --metadata plus a random "user_id" (UUIDv4) when the metadata has none;
//  2. joins as candidate-<i> (may publish and subscribe, auto-subscribe on) and publishes
//     one Opus microphone track that carries a continuous stream like a microphone: the
//     packets of the utterance being said, else a silent packet, every 20 ms. The packets
//     come from the .ogg files as they are: nothing is decoded or encoded at run time.
//     One ticker paces every candidate's microphone;
//  3. hears the agent (the participant whose identity starts with "agent-") without
//     decoding it: an RTP packet whose Opus payload is larger than --voiced-bytes is
//     voiced audio, and its arrival time is kept;
//  4. waits for the greeting (a voiced packet within 30 s of the join, then --quiet
//     seconds with none), says --ready and waits for the reply to end in the same way;
//  5. says --answer --turns times. An answer ends when its last voiced packet (one larger
//     than --voiced-bytes) is written; the reply latency is the first voiced agent packet
//     after that, minus that end. The candidate then waits until the agent has been quiet
//     for --quiet seconds and pauses --gap seconds. A turn with no voiced agent audio
//     within --reply-timeout of the answer's end is missed;
//  6. leaves. An error ends that candidate only; it is recorded in its result.
//
// The default --voiced-bytes was measured against the repository's worker (its fake
// providers' voice is a 220 Hz tone; LiveKit's WebRTC Opus encoder, DTX on) and
// espeak-ng speech encoded by opusenc at 32 kb/s. The agent's silence arrives as 1- and
// 3-byte packets, and, while its output is not digital silence, as 53-56-byte comfort
// noise updates every 400 ms; its speech as 61-220 bytes (the steady tone 121). In the
// .ogg files, silence is 38-51 bytes and speech mostly 60-120. 60 separates both.
//
// The silent packet sent between utterances is the last packet of --answer (else of
// --ready) when that one is not voiced: espeak-ng leaves silence at the end of speech.
//
// Flags:
//
//	--url URL            ws://host:port of the LiveKit server
//	--api-key KEY        API key of the server (it signs the tokens and API calls)
//	--api-secret SECRET  API secret of the server
//	--rooms N            number of candidates, one room each (default 1)
//	--room-prefix P      room names start with P (default "load")
//	--spread S           start candidate i at i*S/N seconds (default 9)
//	--agent-name NAME    the agent to dispatch (the worker's agent name)
//	--metadata JSON      the dispatch metadata, a JSON object (default {})
//	--ready FILE.ogg     Ogg Opus said once, after the greeting
//	--answer FILE.ogg    Ogg Opus said at each turn
//	--turns T            answers per candidate (default 4)
//	--gap S              pause after the agent's reply ends before the next answer, in
//	                     seconds (default 1.0)
//	--voiced-bytes B     an Opus payload larger than B bytes is voiced audio (default 60);
//	                     applies to the agent's packets and to the .ogg files' packets
//	--quiet S            the agent's speech has ended after S seconds with no voiced
//	                     packet (default 1.2)
//	--reply-timeout S    a turn with no voiced agent audio within S seconds of the end of
//	                     the answer is missed (default 15)
//	--out FILE           where to write the JSON results (default: standard output)
//	--histogram          also print, to standard error, the count of the agent's packets
//	                     by payload size (to calibrate --voiced-bytes)
//
// The .ogg files must hold 20 ms Opus packets:
//
//	espeak-ng -w answer.wav "..." && opusenc --framesize 20 --bitrate 32 answer.wav answer.ogg
//
// The results (JSON):
//
//	{"rooms": [{"room", "joined_s" (how long connecting took), "greeting_s" (join to the
//	  first voiced greeting packet, or null), "ready_s" (reply latency to --ready, or
//	  null), "answering_from", "answering_to" (Unix seconds: the first answer's start and
//	  the last reply's end), "turns": [{"reply_s": seconds or null}], "error": string
//	  or null}],
//	 "summary": {"rooms", "turns" (answers said), "replies", "missed", "errors",
//	  "reply_p50_s", "reply_p95_s" (over all answered turns), "wall_s", "cpu_s" (this
//	  process's user+system CPU time over the whole run, from getrusage),
//	  "cores_per_candidate" (cpu_s / wall_s / rooms), "max_rss_mb" (peak resident
//	  memory: VmHWM of /proc/self/status)}}
//
// scripts/build-loadgen builds it into .cache/loadgen/loadgen.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

// config is the command line.
type config struct {
	url, apiKey, apiSecret string
	rooms                  int
	roomPrefix             string
	spread                 time.Duration
	agentName              string
	metadata               map[string]any
	readyPath, answerPath  string
	turns                  int
	gap                    time.Duration
	voicedBytes            int
	quiet, replyTimeout    time.Duration
	out                    string
	histogram              bool
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	c := &config{}
	var spread, gap, quiet, replyTimeout float64
	var metadata string
	fs.StringVar(&c.url, "url", "", "ws://host:port of the LiveKit server")
	fs.StringVar(&c.apiKey, "api-key", "", "API key of the LiveKit server")
	fs.StringVar(&c.apiSecret, "api-secret", "", "API secret of the LiveKit server")
	fs.IntVar(&c.rooms, "rooms", 1, "number of candidates, one room each")
	fs.StringVar(&c.roomPrefix, "room-prefix", "load", "room names start with this")
	fs.Float64Var(&spread, "spread", 9, "start candidate i at i*spread/rooms seconds")
	fs.StringVar(&c.agentName, "agent-name", "", "the agent to dispatch to each room")
	fs.StringVar(&metadata, "metadata", "{}", "dispatch metadata (a JSON object)")
	fs.StringVar(&c.readyPath, "ready", "", "Ogg Opus file said once after the greeting")
	fs.StringVar(&c.answerPath, "answer", "", "Ogg Opus file said at each turn")
	fs.IntVar(&c.turns, "turns", 4, "answers per candidate")
	fs.Float64Var(&gap, "gap", 1.0, "seconds between the end of a reply and the next answer")
	fs.IntVar(&c.voicedBytes, "voiced-bytes", 60, "an Opus payload larger than this is voiced")
	fs.Float64Var(&quiet, "quiet", 1.2, "seconds with no voiced packet that end the agent's speech")
	fs.Float64Var(&replyTimeout, "reply-timeout", 15, "seconds after an answer before the turn is missed")
	fs.StringVar(&c.out, "out", "", "JSON results file (default: standard output)")
	fs.BoolVar(&c.histogram, "histogram", false, "print the agent's payload sizes to standard error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.url == "" || c.apiKey == "" || c.apiSecret == "":
		return nil, errors.New("--url, --api-key and --api-secret are required")
	case c.agentName == "":
		return nil, errors.New("--agent-name is required")
	case c.readyPath == "" || c.answerPath == "":
		return nil, errors.New("--ready and --answer are required")
	case c.rooms < 1 || c.turns < 0 || c.voicedBytes < 0:
		return nil, errors.New("--rooms must be at least 1, --turns and --voiced-bytes at least 0")
	case spread < 0 || gap < 0 || quiet <= 0 || replyTimeout <= 0:
		return nil, errors.New("--spread and --gap must be at least 0, --quiet and --reply-timeout above 0")
	}
	if err := json.Unmarshal([]byte(metadata), &c.metadata); err != nil || c.metadata == nil {
		return nil, fmt.Errorf("--metadata must be a JSON object: %q", metadata)
	}
	c.spread, c.gap = seconds2d(spread), seconds2d(gap)
	c.quiet, c.replyTimeout = seconds2d(quiet), seconds2d(replyTimeout)
	return c, nil
}

func seconds2d(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// runner holds what the candidates share.
type runner struct {
	cfg           *config
	ready, answer *utterance
	silence       []byte
	clock         *clock
	dispatcher    *lksdk.AgentDispatchClient
	sizes         *sizeHistogram
}

// summary is the run's totals, as written in the JSON results.
type summary struct {
	Rooms             int      `json:"rooms"`
	Turns             int      `json:"turns"`
	Replies           int      `json:"replies"`
	Missed            int      `json:"missed"`
	Errors            int      `json:"errors"`
	ReplyP50S         *float64 `json:"reply_p50_s"`
	ReplyP95S         *float64 `json:"reply_p95_s"`
	WallS             float64  `json:"wall_s"`
	CPUS              float64  `json:"cpu_s"`
	CoresPerCandidate float64  `json:"cores_per_candidate"`
	MaxRSSMB          float64  `json:"max_rss_mb"`
}

type results struct {
	Rooms   []roomResult `json:"rooms"`
	Summary summary      `json:"summary"`
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		log.Fatalf("loadgen: %v", err)
	}
	if err := run(cfg); err != nil {
		log.Fatalf("loadgen: %v", err)
	}
}

func run(cfg *config) error {
	start := time.Now()
	r := &runner{
		cfg:        cfg,
		clock:      newClock(),
		dispatcher: lksdk.NewAgentDispatchServiceClient(cfg.url, cfg.apiKey, cfg.apiSecret),
	}
	var err error
	if r.ready, err = loadUtterance(cfg.readyPath, cfg.voicedBytes); err != nil {
		return err
	}
	if r.answer, err = loadUtterance(cfg.answerPath, cfg.voicedBytes); err != nil {
		return err
	}
	if r.silence, err = silentPacket(cfg.voicedBytes, r.answer, r.ready); err != nil {
		return err
	}
	if cfg.histogram {
		r.sizes = &sizeHistogram{}
	}

	// Ctrl-C ends every candidate early; the results so far are still written.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	clockCtx, stopClock := context.WithCancel(ctx)
	defer stopClock()
	go r.clock.run(clockCtx)

	logf("%d rooms, started over %v; answer %v (voiced to %v), ready %v",
		cfg.rooms, cfg.spread, r.answer.duration(),
		time.Duration(r.answer.lastVoiced+1)*packetDuration, r.ready.duration())
	rooms := make([]roomResult, cfg.rooms)
	var wg sync.WaitGroup
	for i := range cfg.rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := time.Duration(int64(cfg.spread) * int64(i) / int64(cfg.rooms))
			select {
			case <-time.After(time.Until(start.Add(offset))):
			case <-ctx.Done():
				msg := "not started: " + ctx.Err().Error()
				rooms[i] = roomResult{Turns: []turnResult{}, Error: &msg}
				return
			}
			rooms[i] = r.interview(ctx, i)
			logf("%s: done", rooms[i].Room)
		}()
	}
	wg.Wait()
	stopClock()

	res := results{Rooms: rooms, Summary: summarize(rooms, time.Since(start))}
	if r.sizes != nil {
		printHistogram(os.Stderr, r.sizes)
	}
	out := os.Stdout
	if cfg.out != "" {
		if out, err = os.Create(cfg.out); err != nil {
			return err
		}
		defer out.Close()
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	return out.Sync()
}

// summarize adds up the rooms' results and this process's resource use.
func summarize(rooms []roomResult, wall time.Duration) summary {
	s := summary{Rooms: len(rooms), WallS: round3(wall.Seconds())}
	var replies []float64
	for _, room := range rooms {
		if room.Error != nil {
			s.Errors++
		}
		for _, t := range room.Turns {
			s.Turns++
			if t.ReplyS == nil {
				s.Missed++
			} else {
				replies = append(replies, *t.ReplyS)
			}
		}
	}
	s.Replies = len(replies)
	s.ReplyP50S, s.ReplyP95S = percentile(replies, 0.5), percentile(replies, 0.95)

	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.CPUS = round3(cpu.Seconds())
		s.CoresPerCandidate = math.Round(cpu.Seconds()/wall.Seconds()/float64(len(rooms))*1e5) / 1e5
		s.MaxRSSMB = round3(float64(ru.Maxrss) / 1024) // Linux reports kilobytes
	}
	if kb, ok := peakRSSKB(); ok {
		s.MaxRSSMB = round3(float64(kb) / 1024)
	}
	return s
}

// peakRSSKB is this program's peak resident memory, from VmHWM in /proc/self/status.
// Linux's getrusage ru_maxrss would do, but it keeps the high-water mark of the process
// before its execve: run from a large parent (a Python driver), it reports the parent's.
func peakRSSKB() (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// percentile is the value at rank p*n of the sorted values (as bench/capacity.py's pct),
// nil when there are none.
func percentile(values []float64, p float64) *float64 {
	if len(values) == 0 {
		return nil
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	v := round3(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))])
	return &v
}

func round3(x float64) float64 {
	return math.Round(x*1000) / 1000
}

func printHistogram(w io.Writer, h *sizeHistogram) {
	fmt.Fprintln(w, "agent RTP Opus payload sizes (bytes: packets):")
	for size := range h.counts {
		if n := h.counts[size].Load(); n > 0 {
			fmt.Fprintf(w, "  %4d: %d\n", size, n)
		}
	}
}

// logf reports progress on standard error.
func logf(format string, args ...any) {
	log.Printf(format, args...)
}
