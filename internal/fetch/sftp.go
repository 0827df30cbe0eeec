package fetch

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/callscope/callscope"
)

// SFTPOptions configures an SFTP source; the fields follow the SCP_*
// variables.
type SFTPOptions struct {
	// User is the login (SCP_USER).
	User string
	// Server is host[:port] (SCP_SERVER); the port defaults to 22.
	Server string
	// Password authenticates by password (SCP_PASSWORD).
	Password string
	// KeyFile is an unencrypted private key file (SCP_KEY_FILE).
	KeyFile string
	// KnownHostsFile holds the server's host key (SCP_KNOWN_HOSTS).
	KnownHostsFile string
	// InsecureIgnoreHostKey accepts any host key
	// (SCP_INSECURE_IGNORE_HOST_KEY); only for closed networks.
	InsecureIgnoreHostKey bool
	// PathTemplate is the remote path with {call_id} (REMOTE_PATH_TEMPLATE).
	PathTemplate string
	// Timeout bounds one download, connection included
	// (DOWNLOAD_TIMEOUT_SECONDS).
	Timeout time.Duration
	// MaxBytes refuses longer recordings; 0 means no limit.
	MaxBytes int64
}

// SFTP pulls recordings from a server (the PBX) over SSH's SFTP subsystem,
// one connection per recording.
type SFTP struct {
	addr     string
	config   ssh.ClientConfig
	template string
	timeout  time.Duration
	maxBytes int64
	signer   ssh.Signer
	password string
}

var _ Source = (*SFTP)(nil)

// NewSFTP checks the options, loads the key and known_hosts files, and
// returns the source; it does not connect. Errors name the variable at
// fault.
func NewSFTP(o SFTPOptions) (*SFTP, error) {
	if o.User == "" {
		return nil, fmt.Errorf("SCP_USER: required for scp/sftp downloads")
	}
	if o.Server == "" {
		return nil, fmt.Errorf("SCP_SERVER: required for scp/sftp downloads")
	}
	if !strings.Contains(o.PathTemplate, "{call_id}") {
		return nil, fmt.Errorf("REMOTE_PATH_TEMPLATE: must contain {call_id}")
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	addr := o.Server
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "22")
	}
	s := &SFTP{addr: addr, template: o.PathTemplate, timeout: o.Timeout, maxBytes: o.MaxBytes}
	s.config = ssh.ClientConfig{User: o.User, Timeout: o.Timeout}
	if o.KeyFile != "" {
		pem, err := os.ReadFile(o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("SCP_KEY_FILE: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("SCP_KEY_FILE: %s is protected by a passphrase; use a key without one, readable only by callscope", o.KeyFile)
		} else if err != nil {
			return nil, fmt.Errorf("SCP_KEY_FILE: %s: %w", o.KeyFile, err)
		}
		s.signer = signer
	}
	s.password = o.Password
	if s.signer == nil && s.password == "" {
		return nil, fmt.Errorf("SCP_PASSWORD: set SCP_PASSWORD or SCP_KEY_FILE for scp/sftp downloads")
	}
	switch {
	case o.InsecureIgnoreHostKey:
		s.config.HostKeyCallback = ssh.InsecureIgnoreHostKey()
	default:
		file := o.KnownHostsFile
		if file == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("SCP_KNOWN_HOSTS: required (no home directory for ~/.ssh/known_hosts)")
			}
			file = home + "/.ssh/known_hosts"
		}
		cb, err := knownhosts.New(file)
		if err != nil {
			return nil, fmt.Errorf("SCP_KNOWN_HOSTS: %w (the PBX's host key is needed: ssh-keyscan %s >> %s; or SCP_INSECURE_IGNORE_HOST_KEY=true on a closed network)", err, o.Server, file)
		}
		s.config.HostKeyCallback = cb
		s.config.HostKeyAlgorithms = knownAlgorithms(cb, addr)
	}
	return s, nil
}

// knownAlgorithms lists the host key algorithms known_hosts has for addr,
// so that the server is asked for a key of a type on file rather than its
// favourite (which would look like a changed key). It asks the callback
// about a throwaway key: the KeyError lists the keys on file.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, &net.TCPAddr{IP: net.IPv4zero, Port: 22}, probe.PublicKey()); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		t := k.Key.Type()
		names := []string{t}
		if t == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

// Fetch implements Source. Returns EINVALID for an id that could escape
// the template, ENOTFOUND if the file does not exist, EUNAVAILABLE for a
// refused login, an unknown or changed host key, or a permission problem;
// connection failures and timeouts are retryable.
func (s *SFTP) Fetch(ctx context.Context, ref Ref) (io.ReadCloser, Info, error) {
	p, err := Expand(s.template, ref.RemoteID())
	if err != nil {
		return nil, Info{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		err = s.netError(ctx, err, "cannot connect to %s", s.addr)
		cancel()
		return nil, Info{}, err
	}
	// The deadline covers the handshake and every read after it; closing
	// the connection when ctx ends unblocks whatever is waiting on it.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (io.ReadCloser, Info, error) {
		stop()
		conn.Close()
		cancel()
		return nil, Info{}, err
	}

	var mu sync.Mutex
	var hostKeyErr error
	authTried := false
	cfg := s.config
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := s.config.HostKeyCallback(host, remote, key)
		mu.Lock()
		hostKeyErr = err
		mu.Unlock()
		return err
	}
	// The auth methods note that authentication began, which means the
	// host key was accepted: a failure after that is a refused login.
	began := func() {
		mu.Lock()
		authTried = true
		mu.Unlock()
	}
	if s.signer != nil {
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			began()
			return []ssh.Signer{s.signer}, nil
		}))
	}
	if s.password != "" {
		cfg.Auth = append(cfg.Auth, ssh.PasswordCallback(func() (string, error) {
			began()
			return s.password, nil
		}), ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
			began()
			answers := make([]string, len(questions))
			for i := range answers {
				answers[i] = s.password
			}
			return answers, nil
		}))
	}

	sshConn, chans, reqs, err := ssh.NewClientConn(conn, s.addr, &cfg)
	if err != nil {
		mu.Lock()
		hk, tried := hostKeyErr, authTried
		mu.Unlock()
		var ke *knownhosts.KeyError
		switch {
		case errors.As(hk, &ke) && len(ke.Want) == 0:
			return fail(permanent(callscope.EUNAVAILABLE, err, "host key of %s is not in the known_hosts file (SCP_KNOWN_HOSTS); add it after checking its fingerprint", s.addr))
		case hk != nil:
			return fail(permanent(callscope.EUNAVAILABLE, err, "host key of %s does not match the known_hosts file (SCP_KNOWN_HOSTS): refusing to connect", s.addr))
		case ctx.Err() != nil || isTimeout(err):
			return fail(s.netError(ctx, err, "SSH handshake with %s", s.addr))
		case tried:
			return fail(permanent(callscope.EUNAVAILABLE, err, "%s refused the login of %q; check SCP_USER, SCP_PASSWORD and SCP_KEY_FILE", s.addr, cfg.User))
		default:
			return fail(retryable(0, err, "SSH handshake with %s failed", s.addr))
		}
	}
	client := ssh.NewClient(sshConn, chans, reqs)
	sc, err := sftp.NewClient(client)
	if err != nil {
		client.Close()
		return fail(s.netError(ctx, err, "%s offers no SFTP subsystem", s.addr))
	}
	f, err := sc.Open(p)
	if err != nil {
		sc.Close()
		client.Close()
		return fail(s.fileError(ctx, err, p))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		sc.Close()
		client.Close()
		return fail(s.fileError(ctx, err, p))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		sc.Close()
		client.Close()
		return fail(permanent(callscope.ENOTFOUND, nil, "recording %s on %s is not a regular file", p, s.addr))
	}
	if s.maxBytes > 0 && st.Size() > s.maxBytes {
		f.Close()
		sc.Close()
		client.Close()
		return fail(tooLarge(s.maxBytes))
	}
	closeAll := func() error {
		err := f.Close()
		sc.Close()
		client.Close()
		stop()
		cancel()
		return err
	}
	body := newLimitReader(f, closeAll, s.maxBytes, func(err error) error { return s.netError(ctx, err, "reading %s from %s", p, s.addr) })
	return body, Info{Name: path.Base(p), ContentType: contentTypeOf(p), Size: st.Size()}, nil
}

func (s *SFTP) fileError(ctx context.Context, err error, p string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return permanent(callscope.ENOTFOUND, nil, "recording %s not found on %s", p, s.addr)
	case errors.Is(err, fs.ErrPermission):
		return permanent(callscope.EUNAVAILABLE, err, "%s does not let %q read %s", s.addr, s.config.User, p)
	}
	return s.netError(ctx, err, "opening %s on %s", p, s.addr)
}

// netError is a retryable failure, named a timeout when the time ran out.
func (s *SFTP) netError(ctx context.Context, err error, format string, args ...any) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return retryable(0, err, fmt.Sprintf(format, args...)+": timed out after %s (DOWNLOAD_TIMEOUT_SECONDS)", s.timeout)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return retryable(0, err, format, args...)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
