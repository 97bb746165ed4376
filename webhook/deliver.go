package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Lease is how long a claimed delivery stays invisible to other workers;
// a worker that dies mid-attempt leaves it due again after that (delivery
// is at least once, hence the webhook-id).
const Lease = 2 * time.Minute

// transport sends deliveries: no proxy, no redirects, addresses checked
// after resolution.
type transport struct {
	client *http.Client
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// errRefusedAddress marks a connection refused by the address policy.
var errRefusedAddress = errors.New("address refused by the webhook SSRF policy")

func newTransport(allowLoopback, allowPrivate bool, timeout time.Duration) *transport {
	dialer := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", errRefusedAddress, address)
		}
		ip := ap.Addr().Unmap()
		switch {
		case ip.IsLoopback():
			if allowLoopback {
				return nil
			}
		case ip.IsPrivate(), ip.IsLinkLocalUnicast(), cgnat.Contains(ip):
			if allowPrivate {
				return nil
			}
		case ip.IsUnspecified(), ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		default:
			return nil
		}
		return fmt.Errorf("%w: %s", errRefusedAddress, ip)
	}}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &transport{client: &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// backoff returns the wait after attempts failed attempts.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.BackoffInitial
	for i := 1; i < attempts && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.BackoffMax)
}

// DeliverOnce claims one batch of due deliveries and attempts each once.
// delivered counts 2xx answers; failed the others (rescheduled, or given
// up after MaxAttempts). err reports a store failure or ctx's end; a
// failed delivery is not an error.
func (s *Service) DeliverOnce(ctx context.Context) (delivered, failed int, err error) {
	const op = "webhook.DeliverOnce"
	ds, err := s.cfg.Store.ClaimWebhookDeliveries(ctx, s.now(), Lease, s.cfg.BatchSize)
	if err != nil {
		return 0, 0, kerr.Wrap(op, err)
	}
	var errs []error
	for i := range ds {
		if err := ctx.Err(); err != nil {
			return delivered, failed, kerr.Wrap(op, err)
		}
		ok, rerr := s.attempt(ctx, &ds[i])
		if ctx.Err() != nil {
			return delivered, failed, kerr.Wrap(op, ctx.Err())
		}
		if ok {
			delivered++
		} else {
			failed++
		}
		if rerr != nil {
			errs = append(errs, rerr)
		}
	}
	return delivered, failed, kerr.Wrap(op, errors.Join(errs...))
}

// attempt makes one attempt at d and records it; err is a store error.
func (s *Service) attempt(ctx context.Context, d *storage.WebhookDelivery) (bool, error) {
	start := s.now()
	status, sendErr := s.send(ctx, d, start)
	if ctx.Err() != nil {
		return false, nil // not the receiver's fault: due again when the lease lapses
	}
	a := &storage.WebhookAttempt{DeliveryID: d.ID, At: start, StatusCode: status, Duration: s.now().Sub(start)}
	ok := sendErr == nil
	var next time.Time
	if !ok {
		a.Error = sendErr.Error()
		if n := d.Attempts + 1; n < s.cfg.MaxAttempts {
			next = s.now().Add(s.backoff(n))
		}
		log := s.cfg.Logger.With("delivery", d.ID, "subscription", d.SubscriptionID, "case", d.CaseID, "status", status, "error", sendErr)
		if next.IsZero() {
			log.WarnContext(ctx, "webhook: delivery failed, giving up")
		} else {
			log.InfoContext(ctx, "webhook: delivery failed, will retry", "next_attempt", next)
		}
	}
	if err := s.cfg.Store.RecordWebhookAttempt(ctx, a, ok, next); err != nil {
		if errors.Is(err, kerr.NotFound) {
			return ok, nil // the subscription was deleted meanwhile
		}
		return ok, err
	}
	return ok, nil
}

// send POSTs d signed at at; status is the answer's (0 without one).
func (s *Service) send(ctx context.Context, d *storage.WebhookDelivery, at time.Time) (int, error) {
	w, err := s.cfg.Store.GetWebhook(ctx, d.SubscriptionID)
	if err != nil {
		return 0, err
	}
	sec, err := s.unseal(w.Secret)
	if err != nil {
		return 0, err
	}
	ts := at.Unix()
	sig, err := signature(sec, d.ID, ts, d.Body, at)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("request to the subscription URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keiyaku-webhook/1")
	req.Header.Set(HeaderID, d.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.tr.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// signature is the webhook-signature header: the current secret's v1
// entry, and the previous one's while it is within its overlap.
func signature(sec secrets, id string, ts int64, body []byte, at time.Time) (string, error) {
	key, err := DecodeSecret(sec.Current)
	if err != nil {
		return "", kerr.WrapKind(kerr.Internal, "webhook.signature", "stored secret", err)
	}
	sig := Sign(key, id, ts, body)
	if sec.Previous != "" && at.Before(sec.PrevTill) {
		if prev, err := DecodeSecret(sec.Previous); err == nil {
			sig += " " + Sign(prev, id, ts, body)
		}
	}
	return sig, nil
}

// Run calls DeliverOnce until ctx is done: again at once after a full
// batch, otherwise after Config.Interval. Errors are logged. It returns
// ctx.Err().
func (s *Service) Run(ctx context.Context) error {
	for {
		d, f, err := s.DeliverOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.cfg.Logger.ErrorContext(ctx, "webhook: delivery run failed", "error", err)
		} else if d+f == s.cfg.BatchSize {
			continue
		}
		t := time.NewTimer(s.cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
