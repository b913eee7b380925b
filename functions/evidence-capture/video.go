package evidencecapture

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// frame is one screencast frame and when the browser drew it.
type frame struct {
	jpeg []byte
	at   float64 // seconds since the epoch, from the frame's metadata
}

// screencast collects the frames Chromium sends while the page session
// runs. Headless Chromium sends a frame only when the page changes, so the
// frames are retimed by their timestamps when the video is made.
type screencast struct {
	mu     sync.Mutex
	frames []frame
}

func (s *screencast) start(tab context.Context) error {
	t := chromedp.FromContext(tab).Target
	if err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*page.EventScreencastFrame); ok {
			s.mu.Lock()
			at := 0.0
			if e.Metadata != nil {
				at = e.Metadata.Timestamp.Float64()
			}
			s.frames = append(s.frames, frame{jpeg: e.Data, at: at})
			s.mu.Unlock()
			go cdp.Call(tab, t, page.ScreencastFrameAck, page.ScreencastFrameAckParams{SessionID: e.SessionID})
		}
	}); err != nil {
		return err
	}
	q := int64(70)
	_, err := cdp.Call(tab, t, page.StartScreencast, page.StartScreencastParams{Format: page.StartScreencastFormatJpeg, Quality: &q, EveryNthFrame: 1})
	return err
}

func (s *screencast) stop(tab context.Context) []frame {
	cdp.Call(tab, chromedp.FromContext(tab).Target, page.StopScreencast, cdp.Empty{})
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]frame(nil), s.frames...)
}

// encodeVideo turns the frames into an H.264 MP4 with ffmpeg's concat
// demuxer: each frame lasts until the next one was drawn, and the last
// one for hold seconds, so the video runs as long as the session did.
func encodeVideo(ctx context.Context, ffmpeg string, frames []frame, hold float64) ([]byte, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("video: the page sent no screencast frame")
	}
	dir, err := os.MkdirTemp("", "evidence-video")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var list strings.Builder
	for i, f := range frames {
		name := fmt.Sprintf("f%05d.jpg", i)
		if err := os.WriteFile(filepath.Join(dir, name), f.jpeg, 0o600); err != nil {
			return nil, err
		}
		d := hold
		if i+1 < len(frames) && frames[i+1].at > f.at {
			d = frames[i+1].at - f.at
		}
		fmt.Fprintf(&list, "file '%s'\nduration %.3f\n", name, max(d, 0.04))
	}
	// The concat demuxer takes the last entry's duration only when the
	// file is listed once more.
	fmt.Fprintf(&list, "file 'f%05d.jpg'\n", len(frames)-1)
	if err := os.WriteFile(filepath.Join(dir, "frames.txt"), []byte(list.String()), 0o600); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "session.mp4")
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", "frames.txt",
		"-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-movflags", "+faststart", "-threads", "1", out)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("video: ffmpeg: %v: %s", err, msg)
	}
	return os.ReadFile(out)
}
