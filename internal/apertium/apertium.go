// Package apertium translates transcripts offline with Apertium, the
// rule-based machine translation system Debian ships (packages apertium and
// apertium-XXX-YYY, one per language pair). It translates only between the
// pairs installed; for any other pair the translate stage is skipped with
// the reason.
package apertium

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.Translator = (*Translator)(nil)

// iso3 maps the ISO 639-1 codes callscope records to the ISO 639-3 codes
// Apertium names its modes by.
var iso3 = map[string]string{
	"en": "eng", "es": "spa", "fr": "fra", "pt": "por", "ca": "cat", "it": "ita", "de": "deu",
	"nl": "nld", "af": "afr", "sw": "swa", "ar": "ara", "gl": "glg", "oc": "oci", "eu": "eus",
	"nb": "nob", "nn": "nno", "da": "dan", "sv": "swe", "is": "isl", "ro": "ron", "ru": "rus",
	"uk": "ukr", "be": "bel", "kk": "kaz", "tt": "tat", "hi": "hin", "ur": "urd", "mt": "mlt",
	"an": "arg", "ast": "ast", "sc": "srd", "eo": "epo", "cy": "cym", "br": "bre", "ga": "gle",
	"pl": "pol", "cs": "ces", "sk": "slk", "sl": "slv", "hr": "hrv", "sr": "srp", "bs": "bos",
	"mk": "mkd", "bg": "bul", "el": "ell", "tr": "tur", "id": "ind", "ms": "msa",
}

// modeName is a translation mode as `apertium -l` lists it: "eng-spa",
// "spa-eng_US", or the older two-letter "en-es".
var modeName = regexp.MustCompile(`^([a-z]{2,3})-([a-z]{2,3})(_[A-Za-z]+)?$`)

// Translator runs the apertium command for the installed pairs.
type Translator struct {
	bin   string
	modes map[[2]string]string // {source, target} in ISO 639-3 → mode
	// Timeout bounds one translation (default 2 minutes).
	Timeout time.Duration
}

// New finds the apertium command (bin, "apertium" when empty) and the
// language pairs installed. It returns an error when the command is
// missing or lists no pair.
func New(ctx context.Context, bin string) (*Translator, error) {
	if bin == "" {
		bin = "apertium"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("apertium is not installed: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-l").Output()
	if err != nil {
		return nil, fmt.Errorf("apertium -l: %w", err)
	}
	t := &Translator{bin: path, modes: map[[2]string]string{}}
	for _, f := range strings.Fields(string(out)) {
		m := modeName.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		key := [2]string{to3(m[1]), to3(m[2])}
		// A regional variant ("spa-eng_US") only when the plain mode is absent.
		if _, ok := t.modes[key]; ok && m[3] != "" {
			continue
		}
		t.modes[key] = f
	}
	if len(t.modes) == 0 {
		return nil, fmt.Errorf("apertium lists no language pair (install e.g. apertium-eng-spa)")
	}
	return t, nil
}

func to3(code string) string {
	if c, ok := iso3[code]; ok {
		return c
	}
	return code
}

// Pairs lists the installed modes, sorted.
func (t *Translator) Pairs() []string {
	var out []string
	for _, m := range t.modes {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Mode returns the mode translating source into target (ISO 639-1 or
// 639-3 codes), or "" when no pair is installed.
func (t *Translator) Mode(source, target string) string {
	return t.modes[[2]string{to3(strings.ToLower(source)), to3(strings.ToLower(target))}]
}

// Translate translates the transcript segment by segment into target; the
// text is one "speaker: text" line per segment. A language pair that is not
// installed is a pipeline.SkipError naming the pairs that are.
func (t *Translator) Translate(ctx context.Context, in pipeline.Input, target string) (pipeline.Translation, pipeline.Usage, error) {
	mode := t.Mode(in.Language, target)
	if mode == "" {
		src := in.Language
		if src == "" {
			src = "unknown"
		}
		return pipeline.Translation{}, pipeline.Usage{}, &pipeline.SkipError{Reason: fmt.Sprintf(
			"no Apertium pair translates %s into %s (installed: %s)", src, target, strings.Join(t.Pairs(), ", "))}
	}
	texts := make([]string, len(in.Segments))
	for i, s := range in.Segments {
		texts[i] = strings.Join(strings.Fields(s.Text), " ")
	}
	out, err := t.run(ctx, mode, strings.Join(texts, "\n"))
	if err != nil {
		return pipeline.Translation{}, pipeline.Usage{}, err
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(texts) {
		// Apertium keeps line breaks; if it ever does not, translate
		// segment by segment so no line lands on the wrong speaker.
		lines = make([]string, len(texts))
		for i, tx := range texts {
			if lines[i], err = t.run(ctx, mode, tx); err != nil {
				return pipeline.Translation{}, pipeline.Usage{}, err
			}
		}
	}
	var b strings.Builder
	for i, s := range in.Segments {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s.Speaker + ": " + strings.Join(strings.Fields(lines[i]), " "))
	}
	return pipeline.Translation{Text: b.String(), SourceLanguage: in.Language, Language: target, Model: "apertium " + mode}, pipeline.Usage{}, nil
}

// run translates text with one mode. Unknown words are passed through
// unmarked (-u).
func (t *Translator) run(ctx context.Context, mode, text string) (string, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.bin, "-u", mode)
	cmd.Stdin = strings.NewReader(text)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("apertium %s: %w", mode, ctx.Err())
		}
		return "", fmt.Errorf("apertium %s: %v: %s", mode, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
