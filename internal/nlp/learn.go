package nlp

import (
	"math"
	"sort"
	"strings"

	"github.com/callscope/callscope"
)

// A tenant's learned classifier.
//
// Reviewers' corrections (a call's transcript and the category a person
// gave it) train a multinomial naive Bayes model over the transcript's
// words and word pairs (words cut to six letters), with add-one smoothing;
// a word no correction had is left out of a prediction, so that a category
// nobody has corrected into does not win on words no one has taught. It is
// written here rather than taken from a library: it trains in milliseconds
// on thousands of calls and needs nothing but counts.
//
// Naive Bayes on a whole call is overconfident (hundreds of words, each
// counted as independent evidence), so the word evidence is tempered: the
// log-likelihood is divided by n/20 for a call of n features, as if every
// call had twenty. The tempered posterior is then blended with the
// taxonomy's keyword scores (each category's share of the keyword
// evidence): p = (1−w)·keywords + w·learned, w the tenant's learning weight
// scaled by N/(N+K) for N corrections and K categories, so that a few
// corrections spread over many categories weigh little.
// A call with no keyword evidence gets a uniform keyword share, so the
// learned model decides it. The learned model never lowers the risk the
// keywords gave: a reviewer's correction teaches categories, not safety.

// Example is a transcript labelled with its category, for training.
type Example struct {
	Text     string
	Category string
}

// LearnedModel is a naive Bayes classifier trained on corrected calls.
type LearnedModel struct {
	cats   []string
	prior  []float64 // log prior per category
	counts []map[string]float64
	totals []float64
	vocab  int
	// all counts every feature over all examples.
	all map[string]float64
	// Examples is how many examples it was trained on.
	Examples int
}

// temperedLength is the number of features a call's evidence is scaled to.
const temperedLength = 20

// Train builds a model from examples whose category is one of cats
// (others are ignored). It returns nil when no example is usable.
func Train(examples []Example, cats []string) *LearnedModel {
	idx := map[string]int{}
	for i, c := range cats {
		idx[c] = i
	}
	m := &LearnedModel{all: map[string]float64{}, cats: cats, prior: make([]float64, len(cats)), counts: make([]map[string]float64, len(cats)), totals: make([]float64, len(cats))}
	for i := range m.counts {
		m.counts[i] = map[string]float64{}
	}
	vocab := map[string]bool{}
	n := make([]float64, len(cats))
	for _, ex := range examples {
		ci, ok := idx[ex.Category]
		if !ok {
			continue
		}
		n[ci]++
		m.Examples++
		for _, f := range features(ex.Text) {
			m.counts[ci][f]++
			m.totals[ci]++
			m.all[f]++
			vocab[f] = true
		}
	}
	if m.Examples == 0 {
		return nil
	}
	m.vocab = len(vocab) + 1
	for i := range cats {
		// Add-one smoothing on the prior too: a category no reviewer has
		// used yet stays possible.
		m.prior[i] = math.Log((n[i] + 1) / (float64(m.Examples) + float64(len(cats))))
	}
	return m
}

// Predict returns the tempered posterior probability of each category for
// a transcript, in the order of the categories the model was trained with.
func (m *LearnedModel) Predict(text string) []float64 {
	fs := features(text)
	scale := 1.0
	if len(fs) > temperedLength {
		scale = temperedLength / float64(len(fs))
	}
	logp := make([]float64, len(m.cats))
	for i := range m.cats {
		ll := 0.0
		for _, f := range fs {
			if m.all[f] == 0 {
				continue // a word no correction had says nothing
			}
			ll += math.Log((m.counts[i][f] + 1) / (m.totals[i] + float64(m.vocab)))
		}
		logp[i] = m.prior[i] + scale*ll
	}
	return softmax(logp)
}

func softmax(logp []float64) []float64 {
	top := math.Inf(-1)
	for _, v := range logp {
		top = max(top, v)
	}
	sum := 0.0
	out := make([]float64, len(logp))
	for i, v := range logp {
		out[i] = math.Exp(v - top)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// features are a transcript's lower-case words of two or more letters that
// are not function words, and its adjacent word pairs.
func features(text string) []string {
	var out []string
	prev := ""
	for _, t := range tokenize(text) {
		if t.kind != tWord {
			prev = ""
			continue
		}
		w := strings.Trim(t.lower, "'’")
		if len(w) < 2 || stopwords["en"][w] || stopwords["sw"][w] {
			prev = ""
			continue
		}
		w = stem(w)
		out = append(out, w)
		if prev != "" {
			out = append(out, prev+" "+w)
		}
		prev = w
	}
	return out
}

// LearnedEvidence says what the learned model contributed to a
// classification.
type LearnedEvidence struct {
	// Corrections is how many corrected calls the model learned from.
	Corrections int `json:"corrections"`
	// Weight is the learned model's share of the blend (the tenant's
	// weight scaled down while corrections are few).
	Weight float64 `json:"weight"`
	// Category is the learned model's own choice, with its probability.
	Category    string  `json:"category"`
	Probability float64 `json:"probability"`
	// KeywordCategory is what the keywords alone chose.
	KeywordCategory string `json:"keyword_category"`
}

// ClassifyLearned classifies like Classify, then blends the keyword scores
// with m's prediction at weight w (0 to 1). A nil m is plain Classify.
func (e *Engine) ClassifyLearned(segs []callscope.Segment, opts Options, m *LearnedModel, w float64) Classification {
	d := newDoc(segs, e.agents)
	res, scores := e.tax.classifyScores(d)
	if m == nil || w <= 0 {
		return res
	}
	var text strings.Builder
	for _, s := range segs {
		text.WriteString(s.Text)
		text.WriteByte('\n')
	}
	return e.tax.blend(res, scores, m, m.Predict(text.String()), min(w, 1))
}

// blend combines keyword scores and learned probabilities.
func (ct *compiledTaxonomy) blend(res Classification, scores []float64, m *LearnedModel, learned []float64, w float64) Classification {
	cats := ct.t.Categories
	total := 0.0
	for _, s := range scores {
		total += s
	}
	bestL := 0
	for i := range m.cats {
		if learned[i] > learned[bestL] {
			bestL = i
		}
	}
	kw := make([]float64, len(cats))
	for i, c := range cats {
		kw[i] = 1 / float64(len(cats))
		if total > 0 {
			kw[i] = scores[i] / total
		} else if c.ID == ct.t.Fallback {
			kw[i] += 1e-9 // a tie without evidence goes to the fallback
		}
	}
	// Few corrections for many categories weigh little.
	w *= float64(m.Examples) / float64(m.Examples+len(cats))
	p := make([]float64, len(cats))
	order := make([]int, len(cats))
	for i, c := range cats {
		l := 0.0
		if k := idxOf(m.cats, c.ID); k >= 0 {
			l = learned[k]
		}
		p[i] = (1-w)*kw[i] + w*l
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	out := res
	out.Learned = &LearnedEvidence{Corrections: m.Examples, Weight: round2(w), Category: m.cats[bestL],
		Probability: round2(learned[bestL]), KeywordCategory: res.Category}
	top := order[0]
	out.Category, out.Label, out.Confidence = cats[top].ID, cats[top].Label, round2(p[top])
	out.RunnersUp = []CategoryScore{}
	for _, i := range order[1:] {
		if p[i] < 0.05 || len(out.RunnersUp) == 3 {
			break
		}
		out.RunnersUp = append(out.RunnersUp, CategoryScore{Category: cats[i].ID, Label: cats[i].Label, Score: round2(scores[i]), Confidence: round2(p[i])})
	}
	if riskRank(cats[top].Risk) > riskRank(out.Risk) {
		out.Risk = cats[top].Risk
	}
	return out
}

// stem cuts a word to its first six letters, so that "beaten" and
// "beating", "bullied" and "bullying" count as one feature.
func stem(w string) string {
	if len(w) > 6 {
		return w[:6]
	}
	return w
}

func idxOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
