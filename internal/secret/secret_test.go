package secret_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/callscope/callscope/internal/secret"
)

func mustKeyring(tb testing.TB, keys ...[]byte) *secret.Keyring {
	tb.Helper()
	k, err := secret.New(keys...)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustKeyring(t, secret.GenerateKey())
	for _, pt := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x", "Bearer ünïcode ✓", strings.Repeat("a", 10000)} {
		sealed, err := k.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if !secret.IsSealed(sealed) || !strings.HasPrefix(sealed, "enc:v1:"+k.KeyID()+":") {
			t.Fatalf("sealed form %q", sealed)
		}
		// A short plaintext can turn up in the base64 by chance.
		if len(pt) > 8 && strings.Contains(sealed, pt) {
			t.Fatalf("sealed value contains the plaintext")
		}
		got, err := k.Open(sealed)
		if err != nil || got != pt {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		again, _ := k.Seal(pt)
		if again == sealed {
			t.Fatal("two seals of one value are equal: nonce reused")
		}
		if k.NeedsReseal(sealed) {
			t.Fatal("value sealed with the current key needs reseal")
		}
	}
}

func TestEmpty(t *testing.T) {
	var none *secret.Keyring
	if s, err := none.Seal(""); s != "" || err != nil {
		t.Fatalf("Seal(\"\") = %q, %v", s, err)
	}
	if s, err := none.Open(""); s != "" || err != nil {
		t.Fatalf("Open(\"\") = %q, %v", s, err)
	}
}

func TestPlaintextReadAsIs(t *testing.T) {
	k := mustKeyring(t, secret.GenerateKey())
	got, err := k.Open("whsec_legacy")
	if err != nil || got != "whsec_legacy" {
		t.Fatalf("Open(plaintext) = %q, %v", got, err)
	}
	if !k.NeedsReseal("whsec_legacy") {
		t.Fatal("plaintext does not need reseal")
	}
	sealed, err := k.Reseal("whsec_legacy")
	if err != nil || !secret.IsSealed(sealed) {
		t.Fatalf("Reseal = %q, %v", sealed, err)
	}
	if got, _ := k.Open(sealed); got != "whsec_legacy" {
		t.Fatalf("resealed opens to %q", got)
	}
}

func TestRotation(t *testing.T) {
	a, b := secret.GenerateKey(), secret.GenerateKey()
	ringA := mustKeyring(t, a)
	sealedA, err := ringA.Seal("client-secret")
	if err != nil {
		t.Fatal(err)
	}
	ringBA := mustKeyring(t, b, a)
	if got, err := ringBA.Open(sealedA); err != nil || got != "client-secret" {
		t.Fatalf("B,A opens A's value: %q, %v", got, err)
	}
	if !ringBA.NeedsReseal(sealedA) {
		t.Fatal("value sealed with A needs no reseal under B,A")
	}
	sealedB, err := ringBA.Reseal(sealedA)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealedB, "enc:v1:"+secret.KeyID(b)+":") {
		t.Fatalf("resealed with the wrong key: %q", sealedB)
	}
	if ringBA.NeedsReseal(sealedB) {
		t.Fatal("resealed value still needs reseal")
	}
	ringB := mustKeyring(t, b)
	if got, err := ringB.Open(sealedB); err != nil || got != "client-secret" {
		t.Fatalf("B alone opens the resealed value: %q, %v", got, err)
	}
	// A alone no longer opens it, and says which key is missing.
	_, err = ringA.Open(sealedB)
	if !errors.Is(err, secret.ErrUnknownKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") || !strings.Contains(err.Error(), secret.KeyID(b)) {
		t.Fatalf("A opens B's value: %v", err)
	}
}

func TestMissingKey(t *testing.T) {
	sealed, _ := mustKeyring(t, secret.GenerateKey()).Seal("token")
	var none *secret.Keyring
	got, err := none.Open(sealed)
	if got != "" || !errors.Is(err, secret.ErrNoKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") {
		t.Fatalf("Open without a key = %q, %v", got, err)
	}
	if _, err := none.Seal("token"); !errors.Is(err, secret.ErrNoKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") {
		t.Fatalf("Seal without a key: %v", err)
	}
	if none.NeedsReseal("token") {
		t.Fatal("nil keyring wants to reseal")
	}
}

func TestTampered(t *testing.T) {
	k := mustKeyring(t, secret.GenerateKey())
	sealed, _ := k.Seal("token")
	i := strings.LastIndexByte(sealed, ':')
	body, _ := base64.RawURLEncoding.DecodeString(sealed[i+1:])
	body[len(body)-1] ^= 1
	bad := sealed[:i+1] + base64.RawURLEncoding.EncodeToString(body)
	if _, err := k.Open(bad); !errors.Is(err, secret.ErrTampered) {
		t.Fatalf("Open(flipped bit) = %v", err)
	}
	for _, s := range []string{"enc:", "enc:v1:", "enc:v2:abcdef01:AAAA", "enc:v1:abc:AAAA", "enc:v1:ABCDEF01:AAAA",
		"enc:v1:zzzzzzzz:AAAA", "enc:v1:" + k.KeyID() + ":***", "enc:v1:" + k.KeyID() + ":AAAA", "enc:v1:" + k.KeyID(),
		sealed[:i+1] + "\n" + sealed[i+1:]} {
		if got, err := k.Open(s); err == nil || got != "" {
			t.Errorf("Open(%q) = %q, %v; want an error", s, got, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	raw := secret.GenerateKey()
	for _, form := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
	} {
		k, err := secret.ParseKey(form)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", form, k, err)
		}
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16]), hex.EncodeToString(raw)[:63] + "g", strings.Repeat("x", 44)} {
		if _, err := secret.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	b := secret.GenerateKey()
	keys, err := secret.ParseKeys(" " + secret.EncodeKey(b) + ",\n" + hex.EncodeToString(raw) + "\n")
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], b) || !bytes.Equal(keys[1], raw) {
		t.Fatalf("ParseKeys = %d keys, %v", len(keys), err)
	}
	if _, err := secret.ParseKeys(secret.EncodeKey(b) + ",nope"); err == nil || !strings.Contains(err.Error(), "key 2") {
		t.Fatalf("ParseKeys with a bad second key: %v", err)
	}
	if _, err := secret.New(b, b); err == nil {
		t.Fatal("New accepted a key listed twice")
	}
	if _, err := secret.New(); !errors.Is(err, secret.ErrNoKey) {
		t.Fatalf("New() = %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, secret.KeyFileName)
	k1, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != secret.KeySize {
		t.Fatalf("first load: %d bytes, created %v, %v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: created %v, same %v, %v", created, bytes.Equal(k1, k2), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if _, _, err := secret.LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("bad key file: %v", err)
	}
}

func TestKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), secret.KeyFileName)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := secret.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("processes starting together got different keys")
		}
	}
}

func FuzzOpen(f *testing.F) {
	k := mustKeyring(f, bytes.Repeat([]byte{7}, secret.KeySize))
	sealed, _ := k.Seal("whsec_seed")
	f.Add(sealed)
	f.Add("whsec_plain")
	f.Add("enc:v1:" + k.KeyID() + ":")
	f.Add("enc:v1:00000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("enc:v9:x")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := k.Open(s)
		if !secret.IsSealed(s) {
			if err != nil || got != s {
				t.Fatalf("plaintext %q: %q, %v", s, got, err)
			}
			return
		}
		if err != nil {
			if got != "" {
				t.Fatalf("error with a value: %q", got)
			}
			return
		}
		// Whatever opens must seal again and open to the same text.
		again, err := k.Seal(got)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := k.Open(again); err != nil || back != got {
			t.Fatalf("round trip %q: %q, %v", got, back, err)
		}
	})
}
