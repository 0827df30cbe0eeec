package fetch_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/fetch"
)

// pbxID is an Asterisk unique id, the name PBX recordings are stored by.
const pbxID = "1761295415.12887"

// sftpServer is an SSH server with the SFTP subsystem, serving the real
// file system, as a PBX does.
type sftpServer struct {
	Addr      string
	HostKey   ssh.PublicKey
	Dir       string // holds calls/1761295415.12887.gsm
	Audio     []byte
	ClientKey string // private key file the server accepts
	// PasswordTries counts password attempts that reached the server.
	PasswordTries atomic.Int32
}

func (s *sftpServer) template() string { return filepath.Join(s.Dir, "calls", "{call_id}.gsm") }

// knownHosts writes a known_hosts file listing key for the server's
// address and returns its path.
func (s *sftpServer) knownHosts(tb testing.TB, key ssh.PublicKey) string {
	tb.Helper()
	f := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(knownhosts.Line([]string{s.Addr}, key)+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (s *sftpServer) options(tb testing.TB) fetch.SFTPOptions {
	return fetch.SFTPOptions{User: "helpline", Server: s.Addr, Password: "pbx-password",
		KnownHostsFile: s.knownHosts(tb, s.HostKey), PathTemplate: s.template(), Timeout: 10 * time.Second}
}

func newKey(tb testing.TB) (ssh.Signer, ed25519.PrivateKey) {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return signer, priv
}

// MustSFTPServer starts an SFTP server on 127.0.0.1 accepting user
// helpline with password pbx-password or the key in ClientKey.
func MustSFTPServer(tb testing.TB) *sftpServer {
	tb.Helper()
	s := &sftpServer{Dir: tb.TempDir()}
	s.Audio = []byte(strings.Repeat("\xd9\x9e\x52\x8a GSM frame ", 2000))
	os.MkdirAll(filepath.Join(s.Dir, "calls"), 0o755)
	if err := os.WriteFile(filepath.Join(s.Dir, "calls", pbxID+".gsm"), s.Audio, 0o644); err != nil {
		tb.Fatal(err)
	}
	// A file just outside the recordings folder, which an id like
	// "../secret" would reach if ids were not checked.
	os.WriteFile(filepath.Join(s.Dir, "secret.gsm"), []byte("not a recording"), 0o644)

	hostSigner, _ := newKey(tb)
	s.HostKey = hostSigner.PublicKey()
	clientSigner, clientPriv := newKey(tb)
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		tb.Fatal(err)
	}
	s.ClientKey = filepath.Join(tb.TempDir(), "id_ed25519")
	os.WriteFile(s.ClientKey, pem.EncodeToMemory(block), 0o600)
	authorized := clientSigner.PublicKey().Marshal()

	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.PasswordTries.Add(1)
			if c.User() == "helpline" && string(pw) == "pbx-password" {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == "helpline" && string(key.Marshal()) == string(authorized) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	s.Addr = ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(conn, cfg)
		}
	}()
	return s
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range requests {
				// The payload is a string: 4 length bytes, then "sftp".
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					srv, err := sftp.NewServer(ch)
					if err != nil {
						ch.Close()
						return
					}
					go func() { srv.Serve(); srv.Close() }()
				}
			}
		}()
	}
}

func pbxRef(id string) fetch.Ref {
	return fetch.Ref{CallID: "c_01", ExternalIDs: []callscope.ExternalID{{Kind: "pbx_uniqueid", Value: id}}}
}

// readAll fetches ref from src and reads it whole.
func readAll(tb testing.TB, src fetch.Source, ref fetch.Ref) ([]byte, fetch.Info, error) {
	tb.Helper()
	rc, info, err := src.Fetch(context.Background(), ref)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, info, err
}

func mustNewSFTP(tb testing.TB, o fetch.SFTPOptions) *fetch.SFTP {
	tb.Helper()
	s, err := fetch.NewSFTP(o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// retryableError is pipeline.RetryableError, which the pipeline checks.
type retryableError interface {
	error
	Retryable() bool
	RetryAfter() time.Duration
}

func isRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r) && r.Retryable()
}

func TestSFTP(t *testing.T) {
	t.Parallel()
	srv := MustSFTPServer(t)

	t.Run("Password", func(t *testing.T) {
		got, info, err := readAll(t, mustNewSFTP(t, srv.options(t)), pbxRef(pbxID))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(srv.Audio) {
			t.Fatalf("read %d bytes, want the %d of the recording", len(got), len(srv.Audio))
		}
		if info.Name != pbxID+".gsm" || info.Size != int64(len(srv.Audio)) || info.ContentType != "audio/x-gsm" {
			t.Fatalf("info = %+v", info)
		}
	})

	t.Run("PrivateKey", func(t *testing.T) {
		o := srv.options(t)
		o.Password, o.KeyFile = "", srv.ClientKey
		got, _, err := readAll(t, mustNewSFTP(t, o), pbxRef(pbxID))
		if err != nil || string(got) != string(srv.Audio) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	})

	t.Run("PortDefaultsTo22", func(t *testing.T) {
		// The source is built without connecting; a server given without a
		// port is dialled on 22, which nothing answers here.
		o := srv.options(t)
		o.Server, o.Timeout = "127.0.0.1", 2*time.Second
		_, _, err := mustNewSFTP(t, o).Fetch(context.Background(), pbxRef(pbxID))
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:22") {
			t.Fatalf("Fetch = %v, want a failure to reach 127.0.0.1:22", err)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		o := srv.options(t)
		o.Password = "guess"
		_, _, err := mustNewSFTP(t, o).Fetch(context.Background(), pbxRef(pbxID))
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || isRetryable(err) ||
			!strings.Contains(callscope.ErrorMessage(err), "SCP_PASSWORD") {
			t.Fatalf("Fetch = %v, want a permanent EUNAVAILABLE naming SCP_PASSWORD", err)
		}
	})

	t.Run("UnknownHostKeyRefused", func(t *testing.T) {
		before := srv.PasswordTries.Load()
		o := srv.options(t)
		other, _ := newKey(t)
		// known_hosts lists a different host only.
		f := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(f, []byte(knownhosts.Line([]string{"pbx.example.net"}, other.PublicKey())+"\n"), 0o600)
		o.KnownHostsFile = f
		_, _, err := mustNewSFTP(t, o).Fetch(context.Background(), pbxRef(pbxID))
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || isRetryable(err) ||
			!strings.Contains(callscope.ErrorMessage(err), "not in the known_hosts") {
			t.Fatalf("Fetch = %v, want unknown host key refused", err)
		}
		if srv.PasswordTries.Load() != before {
			t.Fatal("the password was sent to a server whose host key is unknown")
		}
	})

	t.Run("ChangedHostKeyRefused", func(t *testing.T) {
		other, _ := newKey(t)
		o := srv.options(t)
		o.KnownHostsFile = srv.knownHosts(t, other.PublicKey())
		_, _, err := mustNewSFTP(t, o).Fetch(context.Background(), pbxRef(pbxID))
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || !strings.Contains(callscope.ErrorMessage(err), "does not match") {
			t.Fatalf("Fetch = %v, want changed host key refused", err)
		}
	})

	t.Run("InsecureIgnoreHostKey", func(t *testing.T) {
		o := srv.options(t)
		o.KnownHostsFile, o.InsecureIgnoreHostKey = filepath.Join(t.TempDir(), "none"), true
		if _, _, err := readAll(t, mustNewSFTP(t, o), pbxRef(pbxID)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := mustNewSFTP(t, srv.options(t)).Fetch(context.Background(), pbxRef("1761295999.1"))
		if callscope.ErrorCode(err) != callscope.ENOTFOUND || isRetryable(err) {
			t.Fatalf("Fetch = %v, want ENOTFOUND", err)
		}
	})

	t.Run("PathEscapeRejected", func(t *testing.T) {
		s := mustNewSFTP(t, srv.options(t))
		for _, id := range []string{"../secret", "..", "a/b", `..\secret`, "/etc/passwd"} {
			_, _, err := s.Fetch(context.Background(), pbxRef(id))
			if callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("Fetch(%q) = %v, want EINVALID", id, err)
			}
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		o := srv.options(t)
		o.MaxBytes = 1000
		_, _, err := mustNewSFTP(t, o).Fetch(context.Background(), pbxRef(pbxID))
		if callscope.ErrorCode(err) != callscope.ETOOLARGE {
			t.Fatalf("Fetch = %v, want ETOOLARGE", err)
		}
	})

	t.Run("UsesRemoteIDNotCallID", func(t *testing.T) {
		// A call without external ids is looked up by its own id.
		_, _, err := mustNewSFTP(t, srv.options(t)).Fetch(context.Background(), fetch.Ref{CallID: pbxID})
		if err != nil {
			t.Fatalf("Fetch by CallID = %v", err)
		}
	})
}

func TestSFTPTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never speaks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := mustNewSFTP(t, fetch.SFTPOptions{User: "helpline", Server: ln.Addr().String(), Password: "x",
		InsecureIgnoreHostKey: true, PathTemplate: "/calls/{call_id}.gsm", Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, _, err = s.Fetch(context.Background(), pbxRef(pbxID))
	if !isRetryable(err) || !strings.Contains(err.Error(), "timed out") || callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Fatalf("Fetch = %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Fetch took %v with a 300ms limit", d)
	}
}

func TestNewSFTPNamesTheVariable(t *testing.T) {
	t.Parallel()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, nil, 0o600)
	enc := filepath.Join(t.TempDir(), "id_enc")
	_, priv := newKey(t)
	block, _ := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass"))
	os.WriteFile(enc, pem.EncodeToMemory(block), 0o600)
	ok := fetch.SFTPOptions{User: "helpline", Server: "pbx", Password: "x", KnownHostsFile: kh, PathTemplate: "/calls/{call_id}.gsm"}
	for _, tc := range []struct {
		change func(*fetch.SFTPOptions)
		want   string
	}{
		{func(o *fetch.SFTPOptions) { o.User = "" }, "SCP_USER"},
		{func(o *fetch.SFTPOptions) { o.Server = "" }, "SCP_SERVER"},
		{func(o *fetch.SFTPOptions) { o.Password = "" }, "SCP_PASSWORD"},
		{func(o *fetch.SFTPOptions) { o.PathTemplate = "/calls/x.gsm" }, "REMOTE_PATH_TEMPLATE"},
		{func(o *fetch.SFTPOptions) { o.KnownHostsFile = kh + ".missing" }, "SCP_KNOWN_HOSTS"},
		{func(o *fetch.SFTPOptions) { o.KeyFile = kh + ".missing" }, "SCP_KEY_FILE"},
		{func(o *fetch.SFTPOptions) { o.KeyFile = enc }, "SCP_KEY_FILE"},
	} {
		o := ok
		tc.change(&o)
		if _, err := fetch.NewSFTP(o); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("NewSFTP = %v, want an error naming %s", err, tc.want)
		}
	}
	if _, err := fetch.NewSFTP(ok); err != nil {
		t.Fatalf("NewSFTP(valid) = %v", err)
	}
}
