package blob_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d := blob.Dir{Root: t.TempDir()}
	n, err := d.Put(ctx, "t1/call/rec.wav", strings.NewReader("RIFF-data"))
	if err != nil || n != 9 {
		t.Fatalf("Put = %d, %v", n, err)
	}
	o, err := d.Open(ctx, "t1/call/rec.wav")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(o)
	o.Close()
	if string(b) != "RIFF-data" || o.Size() != 9 {
		t.Fatalf("read back %q size %d", b, o.Size())
	}
	for _, bad := range []string{"../x", "/abs", "a//b", "a/./b", "", `a\b`} {
		if _, err := d.Put(ctx, bad, strings.NewReader("x")); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("Put(%q) = %v, want EINVALID", bad, err)
		}
	}
	if err := d.Delete(ctx, "t1/call/rec.wav"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "t1/call/rec.wav"); err != nil {
		t.Fatal("second delete:", err)
	}
	if _, err := d.Open(ctx, "t1/call/rec.wav"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Fatalf("Open deleted = %v", err)
	}
	// Directories the deletion emptied go (a call's directory names the
	// call); the root and directories still holding objects stay.
	if _, err := os.Stat(filepath.Join(d.Root, "t1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("emptied directory t1 left behind: %v", err)
	}
	if _, err := os.Stat(d.Root); err != nil {
		t.Fatalf("root removed: %v", err)
	}
	for _, k := range []string{"t2/a/1.wav", "t2/b/2.wav"} {
		if _, err := d.Put(ctx, k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Delete(ctx, "t2/a/1.wav"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "t2/b/2.wav"); err != nil {
		t.Fatalf("sibling lost: %v", err)
	}
	// A failed Put leaves nothing behind.
	_, err = d.Put(ctx, "t1/call/half.wav", io.MultiReader(strings.NewReader("abc"), errReader{}))
	if err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(d.Root, "t1", "call"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
