package callscope_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusRuleDecidedOnce keeps NextStatus the only place a call's
// status is decided: outside the root package and the call service (and
// the storage, which only reads stored rows back), no code assigns a call
// status to a Status field. The HTTP surfaces, the pipeline, the stream
// listeners, the dialers and the delivery channels report statuses to the
// call service instead.
func TestStatusRuleDecidedOnce(t *testing.T) {
	allowed := map[string]bool{".": true, "internal/call": true, "internal/sqlstore": true}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if allowed[filepath.Dir(path)] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for i, lhs := range as.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Status" || i >= len(as.Rhs) {
					continue
				}
				if rhs, ok := as.Rhs[i].(*ast.SelectorExpr); ok {
					if pkg, ok := rhs.X.(*ast.Ident); ok && pkg.Name == "callscope" && strings.HasPrefix(rhs.Sel.Name, "Call") {
						t.Errorf("%s: sets a call status (%s) outside the call service; report it through call.Service.SetStatus",
							fset.Position(as.Pos()), rhs.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
