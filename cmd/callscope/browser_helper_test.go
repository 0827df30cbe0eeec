package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium (the chromium binary) for a test:
// 1366×900, muted, allowed to play audio without a gesture, closed when the
// test ends. The context it returns carries limit as its time limit; the
// browser is started first, so that its start does not count against it
// (a browser lives as long as the context of its first run).
func newBrowser(t *testing.T, chromium string, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.Flag("mute-audio", true), chromedp.WindowSize(1366, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithTimeout(bctx, limit)
	t.Cleanup(cancel)
	return bctx
}
