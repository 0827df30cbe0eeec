// Package s3blob keeps recordings in S3-compatible storage (AWS S3, MinIO,
// Ceph, Garage, …) instead of the local data directory
// (CALLSCOPE_RECORDINGS_STORE=s3, with CALLSCOPE_S3_ENDPOINT,
// CALLSCOPE_S3_BUCKET, CALLSCOPE_S3_ACCESS_KEY, CALLSCOPE_S3_SECRET_KEY,
// CALLSCOPE_S3_REGION, CALLSCOPE_S3_USE_SSL and CALLSCOPE_S3_PREFIX). It also
// builds the S3 client that the recording sources in internal/fetch use.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/config"
)

// Config says how to reach an S3-compatible endpoint.
type Config struct {
	// Endpoint is host[:port], without scheme.
	Endpoint string
	// Region is the bucket's region; set it to avoid a location lookup.
	Region string
	// AccessKey and SecretKey sign requests; both empty means anonymous.
	AccessKey, SecretKey string
	// UseSSL selects https.
	UseSSL bool
	// Transport replaces the default HTTP transport (tests, custom CAs).
	Transport http.RoundTripper
}

// NewClient returns a client for the endpoint. It does not connect.
// Returns EINVALID if the endpoint is malformed.
func NewClient(c Config) (*minio.Client, error) {
	if c.Endpoint == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "S3 endpoint is not set")
	}
	var creds *credentials.Credentials
	if c.AccessKey != "" || c.SecretKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")
	} else {
		creds = credentials.New(&credentials.Static{})
	}
	cl, err := minio.New(c.Endpoint, &minio.Options{
		Creds:     creds,
		Secure:    c.UseSSL,
		Region:    c.Region,
		Transport: c.Transport,
	})
	if err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "S3 endpoint %q: %v", c.Endpoint, err)
	}
	return cl, nil
}

// DefaultPartSize is the multipart upload part size used when a Store's
// PartSize is 0: objects of unknown size are uploaded in parts of this many
// bytes held in memory one at a time, which caps an object at 10,000 parts
// (160 GiB).
const DefaultPartSize = 16 << 20

// Store is a blob.Store on one bucket of S3-compatible storage.
type Store struct {
	// Client reaches the endpoint.
	Client *minio.Client
	// Bucket holds the objects; it must exist.
	Bucket string
	// Prefix is put before every key (e.g. "recordings/").
	Prefix string
	// PartSize is the multipart part size; 0 means DefaultPartSize.
	PartSize uint64
}

var _ blob.Store = (*Store)(nil)

// New returns a Store on bucket, with keys under prefix.
func New(c Config, bucket, prefix string) (*Store, error) {
	if bucket == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "S3 bucket is not set")
	}
	cl, err := NewClient(c)
	if err != nil {
		return nil, err
	}
	return &Store{Client: cl, Bucket: bucket, Prefix: prefix}, nil
}

// FromConfig returns the Store the CALLSCOPE_S3_* variables describe, for
// CALLSCOPE_RECORDINGS_STORE=s3. Errors name the variable at fault.
func FromConfig(c *config.Config) (*Store, error) {
	if c.S3Endpoint == "" {
		return nil, fmt.Errorf("CALLSCOPE_S3_ENDPOINT: required when CALLSCOPE_RECORDINGS_STORE=s3")
	}
	if c.S3Bucket == "" {
		return nil, fmt.Errorf("CALLSCOPE_S3_BUCKET: required when CALLSCOPE_RECORDINGS_STORE=s3")
	}
	s, err := New(Config{Endpoint: c.S3Endpoint, Region: c.S3Region, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey,
		UseSSL: c.S3UseSSL}, c.S3Bucket, c.S3Prefix)
	if err != nil {
		return nil, fmt.Errorf("CALLSCOPE_S3_ENDPOINT: %w", err)
	}
	return s, nil
}

// Check verifies that the bucket exists and the credentials may see it, for
// a start-up check. Returns EUNAVAILABLE naming the problem.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.Client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return Translate(err, "S3 bucket "+s.Bucket)
	}
	if !ok {
		return callscope.Errorf(callscope.EUNAVAILABLE, "S3 bucket %q does not exist", s.Bucket)
	}
	return nil
}

func (s *Store) key(key string) (string, error) {
	if !blob.ValidKey(key) {
		return "", callscope.Errorf(callscope.EINVALID, "invalid storage key %q", key)
	}
	return s.Prefix + key, nil
}

// Put implements blob.Store. It streams r without knowing its size; an S3
// upload becomes visible only when complete, and a failed multipart upload
// is aborted, so readers never see half an object.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	k, err := s.key(key)
	if err != nil {
		return 0, err
	}
	part := s.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	info, err := s.Client.PutObject(ctx, s.Bucket, k, ctxReader{ctx, r}, -1, minio.PutObjectOptions{
		PartSize:    part,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, cerr
		}
		return 0, Translate(err, "store recording")
	}
	return info.Size, nil
}

// Open implements blob.Store. The object reads lazily and supports Seek, so
// a Range request reads only the bytes asked for. Returns ENOTFOUND if there
// is no object under key.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	o, err := s.Client.GetObject(ctx, s.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, Translate(err, "open recording")
	}
	info, err := o.Stat()
	if err != nil {
		o.Close()
		return nil, Translate(err, "open recording")
	}
	return &object{Object: o, info: info}, nil
}

// Delete implements blob.Store; removing a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	if err := s.Client.RemoveObject(ctx, s.Bucket, k, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return Translate(err, "delete recording")
	}
	return nil
}

type object struct {
	*minio.Object
	info minio.ObjectInfo
}

func (o *object) Size() int64        { return o.info.Size }
func (o *object) ModTime() time.Time { return o.info.LastModified }

// Translate turns an S3 error into a domain error: a missing key or bucket
// is ENOTFOUND, refused credentials are EUNAVAILABLE naming the problem, and
// anything else is returned wrapped with what was being done.
func Translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey || (resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket):
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found in S3 storage")
	case resp.Code == minio.NoSuchBucket:
		return callscope.Errorf(callscope.EUNAVAILABLE, "%s: S3 bucket does not exist", doing)
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized ||
		resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch":
		return callscope.Errorf(callscope.EUNAVAILABLE, "%s: S3 storage refused the credentials (%s); check CALLSCOPE_S3_ACCESS_KEY and CALLSCOPE_S3_SECRET_KEY", doing, orStatus(resp))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func orStatus(r minio.ErrorResponse) string {
	if r.Code != "" {
		return r.Code
	}
	return strings.TrimSpace(fmt.Sprintf("HTTP %d", r.StatusCode))
}

// ctxReader stops an upload when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
