package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// meter shows how far a long command has come: on a terminal, one status
// line redrawn in place (a bar, the percentage, the stage, the item and the
// time left); otherwise nothing but the lines the command prints, so logs
// and pipes get one line per item.
type meter struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	begin time.Time

	mu    sync.Mutex
	stage string  // what is happening, such as "transcribing"
	item  string  // what it happens to, such as a file name
	frac  float64 // of the whole work, in [0, 1]
	shown bool    // a status line is on the screen
	stop  chan struct{}
	wg    sync.WaitGroup
}

// newMeter returns a meter writing to w, redrawn every tick on a terminal
// (tick 0 redraws only on updates).
func newMeter(w io.Writer, tick time.Duration) *meter {
	f, ok := w.(*os.File)
	m := &meter{w: w, tty: ok && isatty.IsTerminal(f.Fd()), now: time.Now}
	m.begin = m.now()
	if m.tty && tick > 0 {
		m.stop = make(chan struct{})
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-m.stop:
					return
				case <-t.C:
					m.mu.Lock()
					m.draw()
					m.mu.Unlock()
				}
			}
		}()
	}
	return m
}

// set records the stage, the item and the share of the work done, and
// redraws the status line on a terminal.
func (m *meter) set(stage, item string, frac float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stage, m.item, m.frac = stage, item, min(max(frac, 0), 1)
	m.draw()
}

// println prints a line of its own: above the status line on a terminal.
func (m *meter) println(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shown {
		fmt.Fprint(m.w, "\r\033[K")
		m.shown = false
	}
	fmt.Fprintf(m.w, format+"\n", args...)
	m.draw()
}

// left estimates the time left from the time taken so far; ok is false
// until there is enough done to tell.
func (m *meter) left() (time.Duration, bool) {
	if m.frac < 0.01 {
		return 0, false
	}
	spent := m.now().Sub(m.begin)
	return time.Duration(float64(spent) * (1 - m.frac) / m.frac), true
}

// leftText is the time left for a line: "about 1m20s left", or "".
func (m *meter) leftText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.left(); ok {
		return "about " + roundLeft(d).String() + " left"
	}
	return ""
}

// draw writes the status line; the caller holds mu.
func (m *meter) draw() {
	if !m.tty || m.stage == "" {
		return
	}
	const width = 24
	filled := int(m.frac * width)
	eta := "time left: …"
	if d, ok := m.left(); ok {
		eta = "time left: " + roundLeft(d).String()
	}
	fmt.Fprintf(m.w, "\r[%s%s] %3.0f%%  %s %s  %s\033[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		100*m.frac, m.stage, truncate(m.item, 40), eta)
	m.shown = true
}

// close stops redrawing and removes the status line.
func (m *meter) close() {
	if m.stop != nil {
		close(m.stop)
		m.wg.Wait()
		m.stop = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shown {
		fmt.Fprint(m.w, "\r\033[K")
		m.shown = false
	}
	m.stage = ""
}

// roundLeft rounds a time left to what a reader needs: seconds under ten
// minutes, minutes above.
func roundLeft(d time.Duration) time.Duration {
	if d >= 10*time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
