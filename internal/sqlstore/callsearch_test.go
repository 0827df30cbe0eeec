package sqlstore_test

import (
	"slices"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestSearchCallsByCampaignAndContact selects a tenant's calls by campaign
// and by contact, on each dialect, and never another tenant's.
func TestSearchCallsByCampaignAndContact(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		tn, other := sqlstoretest.MustTenant(t, s), sqlstoretest.MustTenant(t, s)
		ada := &callscope.Contact{TenantID: tn.ID, Name: "Ada", Numbers: []string{"+14155550101"}}
		must(t, s.CreateContact(ctx, ada))
		mk := func(tenantID, ext, campaign, contact string) *callscope.Call {
			c := newCall(tenantID, ext)
			c.CampaignID = campaign
			must(t, s.CreateCall(ctx, c))
			if contact != "" {
				must(t, s.SetCallContact(ctx, c, contact))
			}
			return c
		}
		mk(tn.ID, "f-0", "camp-1", ada.ID)
		mk(tn.ID, "f-1", "camp-1", "")
		mk(tn.ID, "f-2", "camp-2", ada.ID)
		mk(tn.ID, "f-3", "", "")
		mk(other.ID, "f-4", "camp-1", ada.ID)
		search := func(cq callscope.CallQuery) []string {
			t.Helper()
			cq.TenantID = tn.ID
			cs, err := s.SearchCalls(ctx, cq)
			must(t, err)
			out := []string{}
			for _, c := range cs {
				out = append(out, c.PublicID())
			}
			slices.Sort(out)
			return out
		}
		for _, c := range []struct {
			name string
			cq   callscope.CallQuery
			want []string
		}{
			{"Campaign", callscope.CallQuery{CampaignID: "camp-1"}, []string{"f-0", "f-1"}},
			{"Contact", callscope.CallQuery{ContactID: ada.ID}, []string{"f-0", "f-2"}},
			{"Both", callscope.CallQuery{CampaignID: "camp-2", ContactID: ada.ID}, []string{"f-2"}},
			{"NoSuchCampaign", callscope.CallQuery{CampaignID: "camp-9"}, []string{}},
			{"Neither", callscope.CallQuery{}, []string{"f-0", "f-1", "f-2", "f-3"}},
		} {
			if got := search(c.cq); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	})
}
