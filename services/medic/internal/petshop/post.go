package petshop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// rowsPerRequest keeps one export request to a few tens of thousands of
// points, well under a receiver's body limit.
const rowsPerRequest = 50

// Post sends every row of t to an OTLP/HTTP receiver (baseURL is
// http://host:port; the path is /v1/metrics), a batch of rows per request.
// A rejected point is an error: the data would arrive incomplete.
func Post(ctx context.Context, client *http.Client, baseURL string, t Table) error {
	for from := 0; from < len(t.Rows); from += rowsPerRequest {
		md := t.OTLP(t.Rows[from:min(from+rowsPerRequest, len(t.Rows))])
		if err := export(ctx, client, baseURL+"/v1/metrics", md); err != nil {
			return fmt.Errorf("rows %d to %d: %w", from, min(from+rowsPerRequest, len(t.Rows))-1, err)
		}
	}
	return nil
}

func export(ctx context.Context, client *http.Client, url string, md pmetric.Metrics) error {
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		return fmt.Errorf("marshal OTLP metrics: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response of %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post %s: %s: %s", url, resp.Status, raw)
	}
	out := pmetricotlp.NewExportResponse()
	if err := out.UnmarshalProto(raw); err != nil {
		return fmt.Errorf("response of %s: %w", url, err)
	}
	if ps := out.PartialSuccess(); ps.RejectedDataPoints() > 0 {
		return fmt.Errorf("post %s: %d points rejected: %s", url, ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	return nil
}
