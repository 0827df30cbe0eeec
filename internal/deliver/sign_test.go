package deliver_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/deliver"
)

// TestSignSpecVector reproduces the Standard Webhooks spec's published
// test vector.
func TestSignSpecVector(t *testing.T) {
	got, err := deliver.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := deliver.NewSecret(), deliver.NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secrets %q, %q: want distinct whsec_ secrets", a, b)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret key: %d bytes, %v; want 32", len(key), err)
	}
}

func TestSignatureHeaderRotation(t *testing.T) {
	old, cur := deliver.NewSecret(), deliver.NewSecret()
	h, err := deliver.SignatureHeader([]string{cur, old}, "evt_1", time.Unix(1, 0), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := deliver.Sign(cur, "evt_1", time.Unix(1, 0), []byte("{}"))
	b, _ := deliver.Sign(old, "evt_1", time.Unix(1, 0), []byte("{}"))
	if h != a+" "+b || a == b {
		t.Fatalf("header %q, want %q", h, a+" "+b)
	}
}
