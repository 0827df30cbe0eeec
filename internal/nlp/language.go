package nlp

import "math"

// LanguageResult is the detected language of a call.
type LanguageResult struct {
	// Language is "en" or "sw"; "" when the transcript has no words.
	Language   string  `json:"language"`
	Confidence float64 `json:"confidence"`
	// CodeSwitched is true when the other language carries a real share of
	// the call (English–Swahili–Sheng mixing).
	CodeSwitched bool               `json:"code_switched"`
	Shares       map[string]float64 `json:"shares"`
}

// stopwords are the most frequent function words of each language.
var stopwords = map[string]map[string]bool{
	"en": setOf("the", "and", "is", "to", "of", "a", "in", "that", "it", "you", "i", "he", "she",
		"was", "for", "on", "are", "with", "my", "me", "this", "have", "not", "but", "what",
		"can", "will", "do", "be", "at", "so", "your", "we", "they", "her", "his", "him", "there",
		"yes", "okay", "if", "from", "or", "about", "would", "please", "thank", "i'm", "it's",
		"don't", "just", "one", "how", "when", "our", "has", "had", "been", "did", "because",
		"know", "want", "an", "all", "very", "no", "here", "then", "now", "also", "who", "where",
		// Frequent English words that Sheng speakers switch to.
		"school", "fees", "money", "phone", "home", "house", "work", "police", "hospital",
		"teacher", "problem", "sorry", "thanks", "really", "like", "because", "said", "told"),
	"sw": setOf("na", "ya", "wa", "ni", "kwa", "za", "la", "katika", "hii", "huyo", "yeye", "mimi",
		"wewe", "sisi", "nini", "kwamba", "lakini", "sana", "tu", "kama", "pia", "hapa", "hiyo",
		"hivyo", "hapana", "ndiyo", "ndio", "sawa", "asante", "habari", "nyumbani", "mtoto", "watoto",
		"mama", "baba", "leo", "kesho", "jana", "nataka", "sijui", "yangu", "wangu", "langu", "lake",
		"wake", "yake", "kuna", "hakuna", "ana", "yuko", "niko", "iko", "hawa", "huyu", "hao",
		"vile", "kitu", "sasa", "pole", "karibu", "naitwa", "jina", "saa", "siku", "kila", "bado",
		"tena", "halafu", "alafu", "juu", "chini", "ndani", "nje", "mbona", "kwanini", "gani", "wapi",
		"lini", "vipi", "uko", "naomba", "tafadhali", "shule", "msichana", "kijana", "si", "sina",
		"nina", "una", "anataka", "amesema", "alisema", "mzee", "hivi", "ama", "au", "ile", "hio",
		"manze", "sijaona", "ata", "hata", "kwenye", "ako", "aje", "poa", "sasa hivi", "msee", "dem",
		"ku", "mbaya", "vizuri", "kuhusu", "mwenye", "wetu", "wenu", "yao", "wao", "nyinyi", "kwani"),
}

func setOf(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// detectLanguage counts stopwords of each language over the transcript.
func detectLanguage(d *doc) LanguageResult {
	var en, sw float64
	for _, toks := range d.toks {
		for _, t := range toks {
			if t.kind != tWord {
				continue
			}
			if stopwords["en"][t.lower] {
				en++
			}
			if stopwords["sw"][t.lower] {
				sw++
			}
		}
	}
	total := en + sw
	r := LanguageResult{Shares: map[string]float64{"en": 0, "sw": 0}}
	if total == 0 {
		return r
	}
	r.Shares["en"], r.Shares["sw"] = round2(en/total), round2(sw/total)
	r.Language = "en"
	share := en / total
	if sw > en {
		r.Language, share = "sw", sw/total
	}
	// Confidence grows with the margin and with the amount of evidence.
	r.Confidence = round2(share * (1 - math.Exp(-total/10)))
	r.CodeSwitched = 1-share >= 0.2 && total >= 10
	return r
}
