package fetch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/blob/s3blob"
)

// S3 reads recordings from a bucket of S3-compatible storage.
type S3 struct {
	// Client reaches the endpoint (s3blob.NewClient).
	Client *minio.Client
	// Bucket holds the recordings.
	Bucket string
	// KeyTemplate is the object key with {call_id}, used when a Ref has no
	// Key.
	KeyTemplate string
	// Timeout bounds one download; 0 means none beyond the caller's ctx.
	Timeout time.Duration
	// MaxBytes refuses longer recordings; 0 means no limit.
	MaxBytes int64
}

var _ Source = (*S3)(nil)

// Fetch implements Source. Returns EINVALID for a key or id that is not a
// clean relative path, ENOTFOUND for a missing object, EUNAVAILABLE for
// refused credentials or a missing bucket; connection failures, timeouts
// and server errors are retryable.
func (s *S3) Fetch(ctx context.Context, ref Ref) (io.ReadCloser, Info, error) {
	key := ref.Key
	if key == "" {
		if s.KeyTemplate == "" {
			return nil, Info{}, permanent(callscope.EINVALID, nil, "the call has no recording key and REMOTE_PATH_TEMPLATE is not set")
		}
		var err error
		if key, err = Expand(s.KeyTemplate, ref.RemoteID()); err != nil {
			return nil, Info{}, err
		}
	}
	if !blob.ValidKey(key) {
		return nil, Info{}, permanent(callscope.EINVALID, nil, "recording key %q is not a relative path without . or ..", key)
	}
	cancel := context.CancelFunc(func() {})
	if s.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
	}
	o, err := s.Client.GetObject(ctx, s.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		cancel()
		return nil, Info{}, s.objectError(ctx, err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		cancel()
		return nil, Info{}, s.objectError(ctx, err)
	}
	if s.MaxBytes > 0 && st.Size > s.MaxBytes {
		o.Close()
		cancel()
		return nil, Info{}, tooLarge(s.MaxBytes)
	}
	ct := st.ContentType
	if ct == "" || ct == "application/octet-stream" || strings.HasPrefix(ct, "binary/") {
		ct = contentTypeOf(key)
	}
	body := newLimitReader(o, func() error { err := o.Close(); cancel(); return err }, s.MaxBytes,
		func(err error) error { return s.objectError(ctx, err) })
	return body, Info{Name: path.Base(key), ContentType: ct, Size: st.Size}, nil
}

func (s *S3) objectError(ctx context.Context, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || resp.Code == minio.NoSuchBucket || resp.StatusCode == http.StatusForbidden ||
		resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests) {
		var ce *callscope.Error
		if t := s3blob.Translate(err, "fetch recording from bucket "+s.Bucket); errors.As(t, &ce) {
			return permanent(ce.Code, nil, "%s", ce.Message)
		}
		return permanent(callscope.EUNAVAILABLE, err, "S3 storage answered HTTP %d", resp.StatusCode)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return retryable(0, err, "recording download from S3 timed out after %s (DOWNLOAD_TIMEOUT_SECONDS)", s.Timeout)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return retryable(0, err, "recording download from S3 failed")
}
