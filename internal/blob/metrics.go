package blob

import (
	"context"
	"io"

	"github.com/callscope/callscope"
	"github.com/prometheus/client_golang/prometheus"
)

// Counted wraps a store so that its operations and their failures are
// counted in callscope_recording_store_operations_total{op, outcome}
// (outcome ok, not_found or error), registered on reg.
func Counted(s Store, reg prometheus.Registerer) Store {
	c := &counted{Store: s, ops: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callscope_recording_store_operations_total",
		Help: "Recording store operations by kind (put, open, delete) and outcome (ok, not_found, error).",
	}, []string{"op", "outcome"})}
	reg.MustRegister(c.ops)
	for _, op := range []string{"put", "open", "delete"} {
		for _, o := range []string{"ok", "not_found", "error"} {
			c.ops.WithLabelValues(op, o)
		}
	}
	return c
}

type counted struct {
	Store
	ops *prometheus.CounterVec
}

func (c *counted) count(op string, err error) {
	outcome := "ok"
	switch {
	case callscope.ErrorCode(err) == callscope.ENOTFOUND:
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	c.ops.WithLabelValues(op, outcome).Inc()
}

func (c *counted) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, err := c.Store.Put(ctx, key, r)
	c.count("put", err)
	return n, err
}

func (c *counted) Open(ctx context.Context, key string) (Object, error) {
	o, err := c.Store.Open(ctx, key)
	c.count("open", err)
	return o, err
}

func (c *counted) Delete(ctx context.Context, key string) error {
	err := c.Store.Delete(ctx, key)
	c.count("delete", err)
	return err
}
