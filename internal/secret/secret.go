// Package secret seals the secrets callscope must be able to read back
// (webhook signing secrets, agent-service and CRM credentials, provider
// tokens) before they are stored, so that a copy of the database alone does
// not hand them over.
//
// A sealed value is self-describing text:
//
//	enc:v1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext)>
//
// The key id names the key that sealed it (8 hex digits derived from the
// key), so a Keyring holding several keys opens values sealed by any of them
// and seals new ones with its first. Values that are not sealed (written by
// versions that stored secrets in the clear) are read as they are, and
// NeedsReseal reports them so that they can be sealed on the next start.
//
// Keys come from CALLSCOPE_SECRET_KEY (or CALLSCOPE_SECRET_KEY_FILE): one
// or more 32-byte keys, base64 or hex, separated by commas or white space.
// The binary builds one Keyring from them and hands it to the store
// (sqlstore.Config.Secrets), where queries reach it as q.keys.
//
// How a store keeps a secret with it:
//
//   - writing: stored, err := keys.Seal(plaintext) ("" stays "");
//   - reading: plaintext, err := keys.Open(stored); a failure (no key, a
//     key not configured, a damaged value) is an error, never "";
//   - at start-up: for each stored value with keys.NeedsReseal(v), write
//     keys.Reseal(v), only if the value is unchanged meanwhile
//     (sqlstore.Store.ResealSecrets does this for its secrets);
//   - a value given by a user that IsSealed would read back as sealed:
//     refuse it, or seal it anyway (Open undoes one Seal only).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Prefix starts every sealed value; Open refuses values that start with it
// but are not well-formed instead of reading them as plaintext.
const Prefix = "enc:"

// header starts the values this version seals.
const header = Prefix + "v1:"

// keyIDLen is the length of a key id in hex digits.
const keyIDLen = 8

// VarName is the configuration variable holding the keys; errors name it.
const VarName = "CALLSCOPE_SECRET_KEY"

var (
	// ErrNoKey is returned when a secret must be sealed or opened and no
	// key is configured.
	ErrNoKey = errors.New("no secret key configured: set " + VarName + " (or " + VarName + "_FILE)")
	// ErrUnknownKey is returned by Open for a value sealed with a key the
	// keyring does not hold.
	ErrUnknownKey = errors.New("secret sealed with a key not in " + VarName)
	// ErrMalformed is returned by Open for a value that starts like a
	// sealed value but is not one.
	ErrMalformed = errors.New("malformed sealed secret")
	// ErrTampered is returned by Open when a value's key is known but the
	// value does not decrypt: it was corrupted or altered.
	ErrTampered = errors.New("sealed secret does not open: corrupted or altered")
)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals secrets with its first key and opens those sealed with any
// of its keys. A nil *Keyring holds no key: Seal fails and Open reads only
// values that were never sealed. It is safe for concurrent use.
type Keyring struct {
	keys []key
}

// New returns a keyring of the keys, each KeySize bytes; the first seals.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, ErrNoKey
	}
	k := &Keyring{}
	seen := map[string]bool{}
	for i, raw := range keys {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("key %d: %d bytes, want %d", i+1, len(raw), KeySize)
		}
		id := KeyID(raw)
		if seen[id] {
			return nil, fmt.Errorf("key %d: listed twice (key id %s)", i+1, id)
		}
		seen[id] = true
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	return k, nil
}

// Parse returns the keyring of a CALLSCOPE_SECRET_KEY value (see ParseKeys).
func Parse(s string) (*Keyring, error) {
	keys, err := ParseKeys(s)
	if err != nil {
		return nil, err
	}
	return New(keys...)
}

// ParseKeys reads a list of keys separated by commas or white space, each
// 32 bytes written as 64 hex digits or in base64 (standard or URL
// alphabet, padded or not). It returns no keys for a blank s.
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	for i, f := range fields {
		k, err := ParseKey(f)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// ParseKey reads one key: 64 hex digits, or base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("not %d bytes in base64 or hex (generate one with: openssl rand -base64 32)", KeySize)
}

// GenerateKey returns a new random key.
func GenerateKey() []byte {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return b
}

// EncodeKey writes a key in the form ParseKey reads (standard base64).
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// KeyID returns the id a key's sealed values carry: the first 8 hex digits
// of a SHA-256 digest of the key, which tells keys apart without revealing
// them.
func KeyID(k []byte) string {
	h := sha256.New()
	h.Write([]byte("callscope secret key id\x00"))
	h.Write(k)
	return hex.EncodeToString(h.Sum(nil))[:keyIDLen]
}

// KeyID returns the id of the key that seals, "" for a nil keyring.
func (k *Keyring) KeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].id
}

// KeyIDs returns the ids of every key, the sealing one first.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, x := range k.keys {
		ids[i] = x.id
	}
	return ids
}

// IsSealed reports whether s is in the sealed form (it starts with
// "enc:"); it does not check that s opens.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Seal encrypts plaintext with the keyring's first key. The empty string
// stays empty, so that "not set" needs no key. Returns ErrNoKey for a nil
// keyring.
func (k *Keyring) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if k == nil || len(k.keys) == 0 {
		return "", ErrNoKey
	}
	key := k.keys[0]
	h := header + key.id
	nonce := make([]byte, key.aead.NonceSize(), key.aead.NonceSize()+len(plaintext)+key.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	// The header is authenticated too: a value cannot be passed off as
	// sealed by another key or format version.
	out := key.aead.Seal(nonce, nonce, []byte(plaintext), []byte(h))
	return h + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the plaintext of a value Seal returned. A value that is not
// sealed (see IsSealed) is returned as it is: it was stored before secrets
// were sealed. Returns ErrUnknownKey (and ErrNoKey for a nil keyring) when
// no key of the keyring sealed it, ErrMalformed for a value that is not
// well-formed, and ErrTampered for one that does not decrypt.
func (k *Keyring) Open(stored string) (string, error) {
	if !IsSealed(stored) {
		return stored, nil
	}
	id, body, err := parse(stored)
	if err != nil {
		return "", err
	}
	if k == nil || len(k.keys) == 0 {
		return "", fmt.Errorf("secret sealed with key %s: %w", id, ErrNoKey)
	}
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		if len(body) < key.aead.NonceSize()+key.aead.Overhead() {
			return "", fmt.Errorf("%w: too short", ErrMalformed)
		}
		ns := key.aead.NonceSize()
		pt, err := key.aead.Open(nil, body[:ns], body[ns:], []byte(header+id))
		if err != nil {
			return "", fmt.Errorf("key %s: %w", id, ErrTampered)
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("%w: it was sealed with key %s; add that key to %s (keys held: %s)",
		ErrUnknownKey, id, VarName, strings.Join(k.KeyIDs(), ", "))
}

// parse splits a sealed value into its key id and decoded body.
func parse(s string) (id string, body []byte, err error) {
	rest, ok := strings.CutPrefix(s, header)
	if !ok {
		return "", nil, fmt.Errorf("%w: unknown format (want %s…)", ErrMalformed, header)
	}
	id, enc, ok := strings.Cut(rest, ":")
	if !ok || len(id) != keyIDLen {
		return "", nil, fmt.Errorf("%w: no key id", ErrMalformed)
	}
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", nil, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	// The decoder skips line breaks; a sealed value has none.
	body, err = base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || strings.ContainsAny(enc, "\r\n") {
		return "", nil, fmt.Errorf("%w: bad encoding", ErrMalformed)
	}
	return id, body, nil
}

// NeedsReseal reports whether a stored value should be sealed again: it is
// not empty and is either in the clear or sealed with a key other than
// the keyring's first. Always false for a nil keyring.
func (k *Keyring) NeedsReseal(stored string) bool {
	if stored == "" || k == nil || len(k.keys) == 0 {
		return false
	}
	if !IsSealed(stored) {
		return true
	}
	id, _, err := parse(stored)
	return err == nil && id != k.keys[0].id
}

// Reseal opens a stored value and seals it with the keyring's first key
// when NeedsReseal says so; otherwise it returns stored unchanged.
func (k *Keyring) Reseal(stored string) (string, error) {
	if !k.NeedsReseal(stored) {
		return stored, nil
	}
	pt, err := k.Open(stored)
	if err != nil {
		return "", err
	}
	return k.Seal(pt)
}
