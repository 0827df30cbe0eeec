package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// agentSpeakers are speaker labels of our side of a call. Everything said
// by another speaker is the remote party's, the one a contact describes.
var agentSpeakers = []string{"agent", "bot", "assistant", "ai", "operator", "system", "representative", "rep", "staff"}

// selfCues end the words before a name the remote party gives as their
// own ("my name is Amina"); orgCues before the organisation they speak for
// ("I'm calling from Acme"). A name or organisation merely mentioned ("my
// neighbour John") is not the caller's.
var (
	selfCues = []string{"my name is", "name is", "names are", "this is", "i am", "i'm", "it's", "call me", "i am called",
		"i'm called", "speaking", "naitwa", "jina langu ni", "mimi ni"}
	orgCues = []string{"work at", "work for", "works at", "working at", "working for", "calling from", "call from",
		"calling on behalf of", "employed by", "i'm from", "i am from", "we are from", "we're from"}
	personTitles = []string{"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "doctor", "madam"}
)

// cuedBy reports whether the text of the segment before rune offset start
// ends with one of cues (a title such as "Mrs" may come between).
func cuedBy(text string, start int, cues []string) bool {
	r := []rune(text)
	if start < 0 || start > len(r) {
		return false
	}
	before := strings.Fields(strings.ToLower(string(r[:start])))
	if n := len(before); n > 0 && slices.Contains(personTitles, before[n-1]) {
		before = before[:n-1]
	}
	tail := " " + strings.Join(before, " ")
	for _, c := range cues {
		if strings.HasSuffix(tail, " "+c) {
			return true
		}
	}
	return false
}

// remoteFacts picks, from the entities found in what the remote party
// said, the values post-call enrichment may put on their contact: the
// name they give as theirs, the first e-mail address they say and the
// organisation they say they are from. Names the agent says ("this is
// Brian") are ours, not the caller's, and are left out.
func remoteFacts(segs []callscope.Segment, ents []nlp.Entity) map[string]string {
	speaker := make(map[int]string, len(segs))
	text := make(map[int]string, len(segs))
	for _, s := range segs {
		speaker[s.SegmentID] = strings.ToLower(strings.TrimSpace(s.Speaker))
		text[s.SegmentID] = s.Text
	}
	field := map[string]string{nlp.EntityPerson: callscope.ContactName, nlp.EntityEmail: callscope.ContactEmail,
		nlp.EntityOrganization: callscope.ContactOrganization}
	out := map[string]string{}
	for _, e := range ents {
		f, ok := field[e.Type]
		if !ok || out[f] != "" || slices.Contains(agentSpeakers, speaker[e.SegmentID]) {
			continue
		}
		if (e.Type == nlp.EntityPerson && !cuedBy(text[e.SegmentID], e.Start, selfCues)) ||
			(e.Type == nlp.EntityOrganization && !cuedBy(text[e.SegmentID], e.Start, orgCues)) {
			continue
		}
		v := strings.TrimSpace(e.Value)
		if v == "" || e.Type == nlp.EntityPerson || e.Type == nlp.EntityOrganization {
			v = strings.TrimSpace(e.Text)
		}
		if v == "" || len(v) > 200 {
			continue
		}
		if f == callscope.ContactEmail && (!strings.Contains(v, "@") || strings.ContainsAny(v, " \t\r\n<>")) {
			continue
		}
		out[f] = v
	}
	return out
}

// enrichContact is the enrich_contact stage: it fills the empty fields of
// the contact with the call's remote number from what the remote party
// said (name, e-mail, organisation), creating the contact when the number
// is unknown and the call gives a name. A field a person entered through
// the API is never overwritten, nor is a field that has a value. Each
// filled field records the call and time it came from, and the call is
// linked to the contact. Running it again fills nothing new.
func (ru *run) enrichContact(ctx context.Context) (outcome, error) {
	num := ru.call.RemoteNumber()
	if num == "" || !callscope.ValidE164(num) {
		return skip("the call has no remote number in E.164 form")
	}
	if len(ru.entities) == 0 {
		return skip("no entities were found")
	}
	facts := remoteFacts(ru.in.Segments, ru.entities)
	if len(facts) == 0 {
		return skip("the remote party gave no name, e-mail or organisation")
	}
	var reason, note string
	var err error
	// A call from the same unknown number processed at the same time may
	// create its contact first: the second attempt then fills that one.
	for attempt := 0; attempt < 2; attempt++ {
		if err = ru.enrichOnce(ctx, num, facts, &reason, &note); callscope.ErrorCode(err) != callscope.ECONFLICT {
			break
		}
	}
	switch callscope.ErrorCode(err) {
	case "":
	case callscope.EINVALID, callscope.ECONFLICT:
		// What the call said does not fit the contact book; the call's
		// processing goes on without it.
		return skip("the contact was not changed: " + callscope.ErrorMessage(err))
	default:
		return outcome{}, err
	}
	if reason != "" {
		return skip(reason)
	}
	return outcome{note: note}, nil
}

// enrichOnce is one attempt of enrichContact, in one transaction.
func (ru *run) enrichOnce(ctx context.Context, num string, facts map[string]string, reason, note *string) error {
	return ru.r.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		*reason, *note = "", ""
		c, err := tx.ContactByNumber(ctx, ru.tenant.ID, num)
		created := false
		switch callscope.ErrorCode(err) {
		case "":
		case callscope.ENOTFOUND:
			if facts[callscope.ContactName] == "" {
				*reason = "the number is not in the contact book and the call gives no name"
				return nil
			}
			c, created = &callscope.Contact{TenantID: ru.tenant.ID, Numbers: []string{num}}, true
		default:
			return err
		}
		src := callscope.ContactSource{CallID: ru.call.ID, At: ru.r.now()}
		var filled []string
		if created {
			c.Sources = map[string]callscope.ContactSource{}
			for _, f := range callscope.EnrichableFields {
				if v := facts[f]; v != "" {
					c.SetField(f, v)
					c.Sources[f] = src
					filled = append(filled, f)
				}
			}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
		} else {
			// Each field is written only if it is still empty and no
			// person entered it when the write happens.
			for _, f := range callscope.EnrichableFields {
				v := facts[f]
				if v == "" || c.Field(f) != "" || slices.Contains(c.Entered, f) {
					continue
				}
				ok, err := tx.FillContactField(ctx, c, f, v, src)
				if err != nil {
					return err
				}
				if ok {
					filled = append(filled, f)
				}
			}
		}
		if len(filled) == 0 {
			*reason = "the contact's fields are set already"
			if ru.call.ContactID == "" {
				return tx.SetCallContact(ctx, ru.call, c.ID)
			}
			return nil
		}
		if ru.call.ContactID == "" {
			if err := tx.SetCallContact(ctx, ru.call, c.ID); err != nil {
				return err
			}
		}
		*note = fmt.Sprintf("filled %s of contact %s", strings.Join(filled, ", "), c.ID)
		if created {
			*note = fmt.Sprintf("created contact %s with %s", c.ID, strings.Join(filled, ", "))
		}
		if ru.r.Events == nil {
			return nil
		}
		return ru.r.Events(ctx, tx, ru.call, callscope.ContactEnrichedData{CallRefData: callscope.RefOf(ru.call),
			ContactID: c.ID, Fields: filled, Created: created})
	})
}

// saveTodos stores the call's extracted to-dos as objects people can
// assign and complete, each text once per call.
func (ru *run) saveTodos(ctx context.Context, todos []nlp.Todo) error {
	list := make([]*callscope.Todo, 0, len(todos))
	for _, t := range todos {
		due := t.Due
		if len(due) > 10 {
			due = due[:10]
		}
		if !callscope.ValidDate(due) {
			due = ""
		}
		list = append(list, &callscope.Todo{Text: t.Text, Assignee: t.Owner, DueDate: due})
	}
	_, err := ru.r.Store.AddExtractedTodos(ctx, ru.tenant.ID, ru.call.ID, list)
	return err
}
