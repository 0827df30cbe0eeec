package callscope

import (
	"encoding/json"
	"time"
)

// Kinds of evolution snapshot written by live progressive analysis.
const (
	EvolutionEntity         = "entity"
	EvolutionClassification = "classification"
	EvolutionTranslation    = "translation"
)

// EvolutionSnapshot is what live progressive analysis concluded about a call
// after one window of its audio: the entities, the classification or the
// translation so far. Data is JSON whose shape belongs to the analysis that
// wrote it.
type EvolutionSnapshot struct {
	CallID      string
	TenantID    string
	Kind        string
	WindowIndex int
	WindowStart float64
	WindowEnd   float64
	Data        json.RawMessage
	CreatedAt   time.Time
}
