package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/inferencelog"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
)

// Point is one line of points.jsonl.
type Point struct {
	TimeUnixMs   int64   `json:"ts"`
	Service      string  `json:"service"`
	Model        string  `json:"model,omitempty"`
	ModelVersion string  `json:"model_version,omitempty"`
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
}

// jsonLines is one buffered JSON-lines file.
type jsonLines struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
}

func createJSONLines(path string) (*jsonLines, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	return &jsonLines{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

func (j *jsonLines) close() error { return errors.Join(j.w.Flush(), j.f.Close()) }

// files are a recording's JSON-lines outputs; the first write error is
// kept and reported at the end, so the serving loop does not check each.
type files struct {
	inferences, points, changes *jsonLines
	firstErr                    error
}

func newFiles(dir string) (*files, error) {
	var f files
	var err error
	for _, o := range []struct {
		name string
		dst  **jsonLines
	}{{"inference.jsonl", &f.inferences}, {"points.jsonl", &f.points}, {"changes.jsonl", &f.changes}} {
		if *o.dst, err = createJSONLines(filepath.Join(dir, o.name)); err != nil {
			_ = f.close()
			return nil, err
		}
	}
	return &f, nil
}

func (f *files) keep(err error) {
	if f.firstErr == nil {
		f.firstErr = err
	}
}

func (f *files) err() error { return f.firstErr }

func (f *files) close() error {
	var errs []error
	for _, j := range []*jsonLines{f.inferences, f.points, f.changes} {
		if j != nil {
			errs = append(errs, j.close())
		}
	}
	return errors.Join(errs...)
}

// inference writes r as the Kafka inference log would, plus the channel.
func (f *files) inference(r serving.Result) {
	channel := float64(model.ChannelIndex(r.Features.Channel))
	rec := inferencelog.Record{PredictionID: r.ID, Timestamp: r.At.UnixMilli(), Service: serving.ModelServer,
		Model: model.Name, ModelVersion: r.Version, LatencyMs: r.Prediction.LatencyMs,
		Features: map[string]*float64{"amount": &r.Features.Amount, "account_age_days": &r.Features.AccountAgeDays,
			"merchant_risk": r.Features.MerchantRisk, "channel": &channel}}
	if r.Failed() {
		rec.Error = r.Prediction.Err.Error()
	} else {
		rec.Score = &r.Prediction.Score
	}
	f.keep(f.inferences.enc.Encode(rec))
}

func (f *files) point(p Point) { f.keep(f.points.enc.Encode(p)) }

func (f *files) change(c changes.Change) error {
	err := f.changes.enc.Encode(c)
	f.keep(err)
	return err
}
