package deliver_test

import (
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestWebhookSignsAfterKeyRotation: an endpoint created under key A is
// stored sealed; after the store's keys become B,A and its secrets are
// resealed with B, deliveries are still signed with the endpoint's secret.
func TestWebhookSignsAfterKeyRotation(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			a, b := secret.GenerateKey(), secret.GenerateKey()
			cfg := sqlstoretest.Config(t, d)
			cfg.Secrets, _ = secret.New(a)
			s1, err := sqlstore.Open(ctx, cfg)
			must(t, err)
			t.Cleanup(func() { s1.Close() })
			_, err = s1.Migrate(ctx)
			must(t, err)
			must(t, job.Migrate(ctx, s1))
			rc := newReceiver(t, nil)
			h := newHarness(t, s1, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 0)
			ep := h.endpoint(rc.URL)
			must(t, h.queue.Stop(ctx))
			s1.Close()

			cfg.Secrets, _ = secret.New(b, a)
			s2, err := sqlstore.Open(ctx, cfg)
			must(t, err)
			t.Cleanup(func() { s2.Close() })
			if n, err := s2.ResealSecrets(ctx); err != nil || n != 1 {
				t.Fatalf("reseal: %d, %v", n, err)
			}
			h.store = s2
			h.start(0)
			h.events(1)
			h.waitDone(ep, 1, 20*time.Second)
			wh, err := standardwebhooks.NewWebhook(ep.Secret)
			must(t, err)
			r := rc.got()[0]
			if err := wh.Verify(r.body, r.header); err != nil {
				t.Fatalf("does not verify with the endpoint's secret: %v", err)
			}
			if strings.Contains(string(r.body), ep.Secret) {
				t.Fatal("payload carries the secret")
			}
		})
	}
}
