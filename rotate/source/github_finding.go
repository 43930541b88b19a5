package source

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// AlertFinding is what respond makes of one GitHub alert.
type AlertFinding struct {
	Alert Alert
	// Finding is the key: the id and the secret (read from the alert and the file it was found
	// in), with every location of the alert. Zero when the alert is not open or not Alibaba's.
	Finding detect.Finding
}

// ErrNotAlibaba says the alert is not one of the Alibaba Cloud AccessKey secret types.
var ErrNotAlibaba = errors.New("not an Alibaba Cloud AccessKey alert")

// ErrNoKey says neither the alert nor the files it names hold the AccessKey id or secret.
var ErrNoKey = errors.New("neither the alert nor its files show the AccessKey id or secret")

// maxBlobs bounds the files read per alert to find the other half of the pair.
const maxBlobs = 10

// AlertFinding reads an alert, its locations and (to find the other half of the pair: GitHub
// raises an Alibaba alert only when the id and the secret stand in the same file, and the alert's
// secret is one of them) the files it was found in, and makes the finding: the AccessKey id, the
// secret, every location. An alert that is not open comes back without a finding.
//
// The id and the secret are paired as detect pairs them in the file; failing that, when the
// alert holds the secret and the file holds exactly one AccessKey id, that id (GitHub's pattern
// found the pair in that file). A finding with the secret has detect.EvidenceSecret; an id
// whose secret could not be read back has detect.EvidenceSource (GitHub saw the pair); a secret
// whose id could not be found is a detect.KindSecretOnly finding.
func (g *GitHub) AlertFinding(ctx context.Context, r AlertRef) (AlertFinding, error) {
	a, err := g.Alert(ctx, r)
	if err != nil {
		return AlertFinding{}, err
	}
	out := AlertFinding{Alert: a}
	if !IsAlibabaSecretType(a.SecretType) {
		return out, ErrNotAlibaba
	}
	if a.State != "open" {
		return out, nil
	}
	locs, err := g.Locations(ctx, r)
	if err != nil {
		return out, fmt.Errorf("read the locations of %s: %w", r, err)
	}
	if len(locs) == 0 && a.FirstLocation != nil {
		locs = []AlertLocation{*a.FirstLocation}
	}
	value := a.Secret.Reveal()
	id, idErr := accesskey.ParseID(value)
	var secret accesskey.Secret
	if idErr != nil && !a.Secret.LooksLikeAccessKeySecret() {
		return out, ErrNoKey
	}
	if idErr != nil {
		secret = a.Secret
	}
	var notes []string
	blobs := 0
	for _, l := range locs {
		if l.BlobSHA == "" || (!id.IsZero() && !secret.IsZero()) || blobs >= maxBlobs {
			continue
		}
		blobs++
		content, err := g.Blob(ctx, r.Repository, l.BlobSHA)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Temporary() {
				return out, fmt.Errorf("read %s of %s: %w", l.Path, r, err)
			}
			notes = append(notes, fmt.Sprintf("could not read %s of %s: %v", accesskey.Printable(l.Path), r, err))
			continue
		}
		fid, fsec := pairIn(ctx, content, id, secret)
		if id.IsZero() && !fid.IsZero() {
			id = fid
			notes = append(notes, fmt.Sprintf("AccessKey id read from %s (the file GitHub found the pair in)", accesskey.Printable(l.Path)))
		}
		if secret.IsZero() && !fsec.IsZero() {
			secret = fsec
		}
	}
	f := detect.Finding{KeyID: id, Secret: secret, Notes: notes, Source: GitHubName}
	switch {
	case id.IsZero():
		f.Kind, f.Evidence = detect.KindSecretOnly, detect.EvidenceSecret
	case id.IsSTS():
		f.Kind = detect.KindSTS
	default:
		f.Kind = detect.KindAccessKey
	}
	switch {
	case f.Evidence != "":
	case !secret.IsZero():
		f.Evidence = detect.EvidenceSecret
	default:
		f.Evidence = detect.EvidenceSource
		f.Notes = append(f.Notes, "GitHub found the id and the secret together; the secret could not be read back")
	}
	for _, l := range locs {
		f.Locations = append(f.Locations, detect.Location{Source: GitHubName, Format: GitHubName, Repository: r.Repository,
			File: l.Path, Commit: l.CommitSHA, Line: l.StartLine, URL: cmp.Or(a.HTMLURL, l.HTMLURL),
			Fingerprint: fmt.Sprintf("alert #%d", r.Number), Rule: a.SecretType})
	}
	if len(f.Locations) == 0 {
		f.Locations = []detect.Location{{Source: GitHubName, Format: GitHubName, Repository: r.Repository, URL: a.HTMLURL,
			Fingerprint: fmt.Sprintf("alert #%d", r.Number), Rule: a.SecretType}}
	}
	out.Finding = f
	return out, nil
}

// pairIn finds the other half of the pair in a file: the secret detect pairs with id, or the id
// detect pairs with secret; failing that, when the file holds exactly one rotatable id, that id.
func pairIn(ctx context.Context, content []byte, id accesskey.ID, secret accesskey.Secret) (accesskey.ID, accesskey.Secret) {
	res, err := detect.Read(ctx, bytes.NewReader(content), detect.Options{Format: detect.FormatText, Source: GitHubName})
	if err != nil {
		return accesskey.ID{}, accesskey.Secret{}
	}
	var only []accesskey.ID
	for _, f := range res.Findings {
		switch {
		case !id.IsZero() && f.KeyID == id && !f.Secret.IsZero():
			return id, f.Secret
		case !secret.IsZero() && !f.KeyID.IsZero() && f.Secret.Equal(secret):
			return f.KeyID, secret
		}
		if f.KeyID.Rotatable() {
			only = append(only, f.KeyID)
		}
	}
	if !secret.IsZero() && len(only) == 1 {
		return only[0], secret
	}
	return accesskey.ID{}, accesskey.Secret{}
}
