package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTaxonomyFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(good, []byte(`{"name":"mine","categories":[{"id":"a","keywords":[{"weight":1,"terms":["x"]}]}]}`), 0o600))
	must(os.WriteFile(bad, []byte(`{"categories":[{"id":"a","risk":"severe"}]}`), 0o600))
	if tax, err := taxonomyFlag("contact_centre"); err != nil || tax.Builtin != "contact_centre" {
		t.Errorf("built-in: %+v %v", tax, err)
	}
	if tax, err := taxonomyFlag(good); err != nil || tax.Name() != "mine" {
		t.Errorf("file: %+v %v", tax, err)
	}
	if _, err := taxonomyFlag(bad); err == nil || !strings.Contains(err.Error(), "taxonomy.categories.0.risk") {
		t.Errorf("invalid file: %v", err)
	}
	if _, err := taxonomyFlag("schools"); err == nil {
		t.Error("an unknown name was taken")
	}
}
