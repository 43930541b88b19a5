package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// SecretStore is the part of KMS Secrets Manager the kms sink calls. ram.Client implements it.
type SecretStore interface {
	CreateSecret(ctx context.Context, name, versionID string, data accesskey.Secret) (ram.SecretVersion, error)
	PutSecretValue(ctx context.Context, name, versionID string, data accesskey.Secret) (ram.SecretVersion, error)
}

// KMS stores the pair as a new version of a KMS Secrets Manager secret (PutSecretValue), and
// creates the secret first when Create is set and it does not exist yet.
type KMS struct {
	name       string
	secretName string
	create     bool
	store      SecretStore
}

// NewKMS returns a kms sink writing to the secret secretName through store.
func NewKMS(name, secretName string, create bool, store SecretStore) (*KMS, error) {
	if secretName == "" {
		return nil, fmt.Errorf("kms sink %q: no secret name", name)
	}
	if store == nil {
		return nil, fmt.Errorf("kms sink %q: no KMS client", name)
	}
	return &KMS{name: name, secretName: secretName, create: create, store: store}, nil
}

// Name implements Sink.
func (k *KMS) Name() string { return k.name }

// Kind implements Sink.
func (k *KMS) Kind() string { return "kms" }

// Describe implements Sink.
func (k *KMS) Describe() string {
	s := fmt.Sprintf("put a new version of KMS secret %s (PutSecretValue)", k.secretName)
	if k.create {
		s += ", creating it if missing (CreateSecret)"
	}
	return s
}

// VersionID is the KMS VersionId for a key: derived from the key id alone, so a retried Store
// sends the same version and KMS treats it as the same write.
func VersionID(id accesskey.ID) string {
	sum := sha256.Sum256([]byte("respond/" + id.String()))
	return "respond-" + hex.EncodeToString(sum[:8])
}

// kmsData is the secret's JSON value.
type kmsData struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
}

// Store implements Sink.
func (k *KMS) Store(ctx context.Context, c Credential) (Receipt, error) {
	if c.KeyID.IsZero() || c.Secret.IsZero() {
		return Receipt{}, fmt.Errorf("kms sink %q: store key %s: no key id or secret", k.name, c.KeyID)
	}
	raw, err := json.Marshal(kmsData{AccessKeyID: c.KeyID.String(), AccessKeySecret: c.Secret.Reveal()})
	if err != nil {
		return Receipt{}, fmt.Errorf("kms sink %q: encode key %s: %w", k.name, c.KeyID, err)
	}
	data := accesskey.NewSecret(string(raw))
	version := VersionID(c.KeyID)

	sv, err := k.store.PutSecretValue(ctx, k.secretName, version, data)
	action := "PutSecretValue"
	if errors.Is(err, ram.ErrNotFound) && k.create {
		action = "CreateSecret"
		sv, err = k.store.CreateSecret(ctx, k.secretName, version, data)
		if errors.Is(err, ram.ErrAlreadyExists) {
			// Created meanwhile (a concurrent or earlier run): put the version on it.
			action = "PutSecretValue"
			sv, err = k.store.PutSecretValue(ctx, k.secretName, version, data)
		}
	}
	if err != nil {
		hint := ""
		if errors.Is(err, ram.ErrNotFound) && !k.create {
			hint = " (the secret does not exist; create it, or set create: true on the sink)"
		}
		return Receipt{}, fmt.Errorf("kms sink %q: %s %s for key %s: %w%s", k.name, action, k.secretName, c.KeyID, err, hint)
	}
	details := map[string]string{"version_id": sv.VersionID, "action": action}
	if sv.VersionID == "" {
		details["version_id"] = version
	}
	if sv.RequestID != "" {
		details["request_id"] = sv.RequestID
	}
	where := k.secretName
	if sv.Arn != "" {
		where = sv.Arn
	}
	return Receipt{Sink: k.name, Kind: k.Kind(), Where: where, Details: details}, nil
}
