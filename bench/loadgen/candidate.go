package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

const (
	greetingTimeout = 30 * time.Second // for the agent's first voiced packet after the join
	speechLimit     = 60 * time.Second // no reply of the agent goes on longer than this
	apiTimeout      = 10 * time.Second // a server API call
)

// roomResult is one candidate's outcome, as written in the JSON results.
type roomResult struct {
	Room string `json:"room"`
	// JoinedS is how long connecting to the room took (signalling and WebRTC set-up).
	JoinedS *float64 `json:"joined_s"`
	// GreetingS is the time from the join to the agent's first voiced greeting packet.
	GreetingS *float64 `json:"greeting_s"`
	// ReadyS is the reply latency to the --ready utterance (null if none came).
	ReadyS *float64 `json:"ready_s"`
	// AnsweringFrom and AnsweringTo are when the first answer started and the last
	// reply ended (Unix seconds): the span in which this room is answering.
	AnsweringFrom *float64     `json:"answering_from"`
	AnsweringTo   *float64     `json:"answering_to"`
	Turns         []turnResult `json:"turns"`
	Error         *string      `json:"error"`
}

// turnResult is one answer: the agent's reply latency, null for a missed turn.
type turnResult struct {
	ReplyS *float64 `json:"reply_s"`
}

// candidate is one simulated interviewee in a room of its own.
type candidate struct {
	index int
	cfg   *config
	run   *runner
	res   roomResult

	room     *lksdk.Room
	mic      *microphone
	ear      *ear
	gone     chan struct{} // closed when the room disconnects us
	goneOnce sync.Once
}

// interview runs candidate i start to end; errors end it and are recorded, never raised.
func (r *runner) interview(ctx context.Context, i int) roomResult {
	c := &candidate{
		index: i,
		cfg:   r.cfg,
		run:   r,
		res:   roomResult{Room: fmt.Sprintf("%s-%d-%s", r.cfg.roomPrefix, i, random6()), Turns: []turnResult{}},
		ear:   newEar(r.cfg.voicedBytes, r.sizes),
		gone:  make(chan struct{}),
	}
	defer func() {
		if p := recover(); p != nil {
			c.fail(fmt.Errorf("panic: %v", p))
		}
	}()
	if err := c.interview(ctx); err != nil {
		c.fail(err)
	}
	return c.res
}

func (c *candidate) fail(err error) {
	msg := err.Error()
	c.res.Error = &msg
	logf("%s: %s", c.res.Room, msg)
}

func (c *candidate) interview(ctx context.Context) error {
	// an interrupted run ends the waits as a disconnection does
	defer context.AfterFunc(ctx, c.leave)()
	if err := c.dispatch(ctx); err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	if err := c.join(); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	defer c.room.Disconnect()
	if err := c.publish(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer c.run.clock.remove(c.mic)
	joined := time.Now()

	// the greeting: a voiced packet, then quiet
	first, ok := c.ear.firstVoicedAfter(joined, joined.Add(greetingTimeout), c.gone)
	if !ok {
		return c.why(ctx, fmt.Errorf("no greeting within %v", greetingTimeout))
	}
	c.res.GreetingS = seconds(first.Sub(joined))
	if !c.ear.waitQuiet(c.cfg.quiet, first.Add(speechLimit), c.gone) {
		return c.why(ctx, errors.New("the greeting never ended"))
	}

	// "ready", then the answers; each waits for the agent's reply to end, then --gap
	if err := c.turn(ctx, c.run.ready, &c.res.ReadyS); err != nil {
		return err
	}
	c.res.AnsweringFrom = unix(time.Now())
	defer func() { c.res.AnsweringTo = unix(time.Now()) }()
	for t := 0; t < c.cfg.turns; t++ {
		var reply *float64
		if err := c.turn(ctx, c.run.answer, &reply); err != nil {
			return err
		}
		c.res.Turns = append(c.res.Turns, turnResult{ReplyS: reply})
	}
	return nil
}

// turn says u, sets *reply to the agent's reply latency (left nil if nothing voiced came
// within --reply-timeout of u's voiced end), waits for the reply to end, then --gap.
func (c *candidate) turn(ctx context.Context, u *utterance, reply **float64) error {
	var end time.Time
	select {
	case end = <-c.mic.say(u):
	case <-ctx.Done():
		return ctx.Err()
	case <-c.gone:
		return c.why(ctx, errors.New("disconnected"))
	}
	if first, ok := c.ear.firstVoicedAfter(end, end.Add(c.cfg.replyTimeout), c.gone); ok {
		*reply = seconds(first.Sub(end))
		if !c.ear.waitQuiet(c.cfg.quiet, first.Add(speechLimit), c.gone) {
			return c.why(ctx, errors.New("the agent's reply never ended"))
		}
	}
	select {
	case <-time.After(c.cfg.gap):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.gone:
		return c.why(ctx, errors.New("disconnected"))
	}
}

// leave ends the candidate's waits: the room disconnected it, or the run was interrupted.
func (c *candidate) leave() {
	c.goneOnce.Do(func() { close(c.gone) })
}

// why says that the run was interrupted or the room disconnected us, when it was so,
// rather than err.
func (c *candidate) why(ctx context.Context, err error) error {
	select {
	case <-c.gone:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errors.New("disconnected from the room")
	default:
		return err
	}
}

// dispatch asks the server to send the agent to the room (which the server creates),
// with --metadata plus a random user_id when it has none.
func (c *candidate) dispatch(ctx context.Context) error {
	meta := make(map[string]any, len(c.cfg.metadata)+1)
	for k, v := range c.cfg.metadata {
		meta[k] = v
	}
	if _, ok := meta["user_id"]; !ok {
		meta["user_id"] = uuid.NewString()
	}
	body, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	_, err = c.run.dispatcher.CreateDispatch(ctx, &livekit.CreateAgentDispatchRequest{
		AgentName: c.cfg.agentName,
		Room:      c.res.Room,
		Metadata:  string(body),
	})
	return err
}

// join connects as candidate-<i> and starts listening to the agent's audio tracks.
func (c *candidate) join() error {
	grant := &auth.VideoGrant{RoomJoin: true, Room: c.res.Room}
	grant.SetCanPublish(true)
	grant.SetCanSubscribe(true)
	identity := fmt.Sprintf("candidate-%d", c.index)
	token, err := auth.NewAccessToken(c.cfg.apiKey, c.cfg.apiSecret).
		SetIdentity(identity).
		SetName(identity).
		SetVideoGrant(grant).
		SetValidFor(24 * time.Hour).
		ToJWT()
	if err != nil {
		return err
	}
	callback := &lksdk.RoomCallback{
		OnDisconnected: c.leave,
		ParticipantCallback: lksdk.ParticipantCallback{
			OnTrackSubscribed: func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				if track.Kind() == webrtc.RTPCodecTypeAudio && strings.HasPrefix(rp.Identity(), "agent-") {
					go c.ear.listen(track)
				}
			},
		},
	}
	start := time.Now()
	room, err := lksdk.ConnectToRoomWithToken(c.cfg.url, token, callback, lksdk.WithAutoSubscribe(true))
	if err != nil {
		return err
	}
	c.room = room
	c.res.JoinedS = seconds(time.Since(start))
	return nil
}

// publish adds the microphone track and hands it to the shared clock.
func (c *candidate) publish() error {
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{
		MimeType:  webrtc.MimeTypeOpus,
		ClockRate: 48000,
		Channels:  2,
	})
	if err != nil {
		return err
	}
	_, err = c.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name:   "microphone",
		Source: livekit.TrackSource_MICROPHONE,
	})
	if err != nil {
		return err
	}
	c.mic = newMicrophone(track, c.run.silence)
	c.run.clock.add(c.mic)
	return nil
}

// random6 is six random hexadecimal digits, to make room names unique across runs.
func random6() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// seconds is d in seconds, to a tenth of a millisecond.
func seconds(d time.Duration) *float64 {
	s := math.Round(d.Seconds()*1e4) / 1e4
	return &s
}

// unix is t in Unix seconds, as the JSON results give wall times.
func unix(t time.Time) *float64 {
	v := float64(t.UnixNano()) / 1e9
	return &v
}
