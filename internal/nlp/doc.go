// Package nlp holds callscope's built-in, offline call analyzers: pure Go,
// deterministic, no network and no GPU.
//
// An Engine compiles one tenant's configuration (taxonomy, QA rubric,
// gazetteer, identity-number patterns) and runs the analyzers on a call
// transcript:
//
//   - ExtractEntities: phones (written and dictated, in English and Swahili
//     number words), e-mails (also "john dot smith at gmail dot com"), URLs,
//     Luhn-checked card numbers, identity numbers, dates and times resolved
//     against the call start, money, ages, people, places and organisations;
//   - Classify: a category of the tenant's taxonomy with confidence,
//     runners-up, negation-aware keyword evidence and a risk level;
//   - Summarize: 3–5 sentences taken from the transcript — the reason for the
//     call, what was agreed and the next steps;
//   - ScoreQA: a 0–100 score against a rubric, with per-item evidence;
//   - ExtractTodos: commitments and requests with owner and due date;
//   - Redact: a masked copy of the transcript and the masked spans;
//   - DetectLanguage: English or Swahili, and whether the call code-switches.
//
// Analyze runs them all on one tokenisation of the transcript. The embedded
// defaults live in data/: a child-helpline and a contact-centre taxonomy, a
// rubric and an East-African gazetteer.
//
// EvaluateDir scores the analyzers on labelled calls; testdata/eval/README.md
// documents the file format and TestEvaluation holds the quality floors.
package nlp
