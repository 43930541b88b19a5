package ram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"

	"github.com/respond-dev/respond/ram/accesskey"
)

// KMS Secrets Manager's RAM credentials secrets (alibaba-api.md §13): a secret of type
// RAMCredentials owns a RAM user's AccessKey; KMS rotates it (RAM creates the new pair, then
// deletes the old one) and the secret's ACSCurrent version follows. These are the calls respond
// makes to find such a secret for a leaked key and to have KMS rotate it.

// Action names of KMS Secrets Manager's RAM credentials secrets.
const (
	actListSecrets    = "ListSecrets"
	actDescribeSecret = "DescribeSecret"
	actGetSecretValue = "GetSecretValue"
	actRotateSecret   = "RotateSecret"
)

// KMS words, as the cloud spells them.
const (
	// SecretTypeRAMCredentials is the SecretType of a secret that owns a RAM user's AccessKey.
	SecretTypeRAMCredentials = "RAMCredentials"
	// SecretSubTypeRAMUserAccessKey is its ExtendedConfig.SecretSubType.
	SecretSubTypeRAMUserAccessKey = "RamUserAccessKey"
	// StageCurrent and StagePrevious are the version stages a RAM secret's value is read at.
	StageCurrent  = "ACSCurrent"
	StagePrevious = "ACSPrevious"
)

// Classes of KMS rotation errors (RotateSecret).
var (
	// ErrRotationInProgress: a rotation of the secret is already running; KMS accepts no other
	// until it ends (the documented rule, whatever code the cloud uses for it).
	ErrRotationInProgress = errors.New("a rotation of the secret is already in progress")
	// ErrRotationLimit: the account made its documented maximum of rotations this hour (50): come
	// back later. Not retried by the client (the wait is up to an hour).
	ErrRotationLimit = errors.New("the account's hourly limit of secret rotations is reached")
)

// maxRAMSecrets bounds how many RAM credentials secrets one account's listing reads (each costs a
// DescribeSecret): a larger account is reported, not scanned without end.
const maxRAMSecrets = 1000

// RAMSecret is a RAM credentials secret as DescribeSecret describes it (never its value).
type RAMSecret struct {
	Name string `json:"name"`
	Arn  string `json:"arn,omitempty"`
	// UserName and SubType are from the secret's ExtendedConfig (JSON text on the wire).
	UserName          string    `json:"user_name"`
	SubType           string    `json:"sub_type,omitempty"`
	AutomaticRotation string    `json:"automatic_rotation,omitempty"`
	RotationInterval  string    `json:"rotation_interval,omitempty"`
	LastRotation      time.Time `json:"last_rotation,omitzero"`
	NextRotation      time.Time `json:"next_rotation,omitzero"`
}

// RAMSecretValue is a version of a RAM credentials secret: the pair KMS serves at a stage. The
// secret is an accesskey.Secret: it redacts itself and is never logged.
type RAMSecretValue struct {
	Name        string
	VersionID   string
	Stages      []string
	AccessKeyID accesskey.ID
	Secret      accesskey.Secret
	Generated   time.Time
}

// SecretRotation is KMS's answer to RotateSecret.
type SecretRotation struct {
	Name      string `json:"name"`
	VersionID string `json:"version_id"`
	Arn       string `json:"arn,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// ramSecretFilter is ListSecrets' Filters for RAM credentials secrets.
const ramSecretFilter = `[{"Key":"SecretType","Values":["` + SecretTypeRAMCredentials + `"]}]`

// ListRAMSecrets lists the account's RAM credentials secrets (ListSecrets filtered by SecretType,
// every page) and describes each (DescribeSecret: the user it manages is in its ExtendedConfig).
// A secret that vanishes between the two calls is left out; more than maxRAMSecrets is an error.
func (c *Client) ListRAMSecrets(ctx context.Context) ([]RAMSecret, error) {
	names, err := c.listSecretNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RAMSecret, 0, len(names))
	for _, n := range names {
		s, err := c.DescribeSecret(ctx, n)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		if s.SubType != "" && s.SubType != SecretSubTypeRAMUserAccessKey {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func (c *Client) listSecretNames(ctx context.Context) ([]string, error) {
	var names []string
	err := c.eachPage(ctx, actListSecrets, func(ctx context.Context, page int) (int, int, error) {
		req, resp := kms.CreateListSecretsRequest(), kms.CreateListSecretsResponse()
		req.Filters = ramSecretFilter
		req.PageNumber = requests.NewInteger(page)
		req.PageSize = requests.NewInteger(pageSize)
		if err := c.invoke(ctx, prodKMS, req, resp); err != nil {
			return 0, 0, err
		}
		for _, s := range resp.SecretList.Secret {
			// the filter is the cloud's; a secret of another type is still not ours to read
			if (s.SecretType == "" || s.SecretType == SecretTypeRAMCredentials) && !slices.Contains(names, s.SecretName) {
				names = append(names, s.SecretName)
			}
		}
		if len(names) > maxRAMSecrets {
			return 0, 0, fmt.Errorf("more than %d: not read further", maxRAMSecrets)
		}
		return len(resp.SecretList.Secret), resp.TotalCount, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list KMS RAM credentials secrets: %w", err)
	}
	return names, nil
}

// extendedConfig is a RAM secret's ExtendedConfig (JSON text on the wire).
type extendedConfig struct {
	SecretSubType string `json:"SecretSubType"`
	UserName      string `json:"UserName"`
}

// parseExtendedConfig reads the user name out of ExtendedConfig, which may be empty.
func parseExtendedConfig(raw string) (extendedConfig, error) {
	var ec extendedConfig
	if strings.TrimSpace(raw) == "" {
		return ec, nil
	}
	if err := json.Unmarshal([]byte(raw), &ec); err != nil {
		return ec, errors.New("ExtendedConfig is not a JSON object")
	}
	return ec, nil
}

// DescribeSecret describes a secret (metadata, never its value).
func (c *Client) DescribeSecret(ctx context.Context, name string) (RAMSecret, error) {
	var out RAMSecret
	err := c.call(ctx, actDescribeSecret, "", func(ctx context.Context) error {
		req, resp := kms.CreateDescribeSecretRequest(), kms.CreateDescribeSecretResponse()
		req.SecretName = name
		if err := c.invoke(ctx, prodKMS, req, resp); err != nil {
			return err
		}
		ec, err := parseExtendedConfig(resp.ExtendedConfig)
		if err != nil {
			return err
		}
		out = RAMSecret{Name: resp.SecretName, Arn: resp.Arn, UserName: ec.UserName, SubType: ec.SecretSubType,
			AutomaticRotation: resp.AutomaticRotation, RotationInterval: resp.RotationInterval,
			LastRotation: parseTime(resp.LastRotationDate), NextRotation: parseTime(resp.NextRotationDate)}
		if out.Name == "" {
			out.Name = name
		}
		return nil
	})
	if err != nil {
		return RAMSecret{}, fmt.Errorf("describe KMS secret %s: %w", accesskey.Printable(name), err)
	}
	return out, nil
}

// ramSecretData is a RAM secret's SecretData at a stage: one object (alibaba-api.md §13).
type ramSecretData struct {
	AccessKeyID       string `json:"AccessKeyId"`
	AccessKeySecret   string `json:"AccessKeySecret"`
	GenerateTimestamp string `json:"GenerateTimestamp"`
}

// parseRAMSecretData reads a RAM secret's value. Its errors never quote the data.
func parseRAMSecretData(raw string) (accesskey.ID, accesskey.Secret, time.Time, error) {
	var d ramSecretData
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return accesskey.ID{}, accesskey.Secret{}, time.Time{}, errors.New("SecretData is not a JSON object")
	}
	id, err := accesskey.ParseID(d.AccessKeyID)
	if err != nil {
		return accesskey.ID{}, accesskey.Secret{}, time.Time{}, errors.New("SecretData holds no valid AccessKeyId")
	}
	return id, accesskey.NewSecret(d.AccessKeySecret), parseTime(d.GenerateTimestamp), nil
}

// GetRAMSecretValue reads the pair a RAM credentials secret serves at stage (StageCurrent when
// empty). The secret travels in an accesskey.Secret; nothing here logs or quotes it.
func (c *Client) GetRAMSecretValue(ctx context.Context, name, stage string) (RAMSecretValue, error) {
	if stage == "" {
		stage = StageCurrent
	}
	var out RAMSecretValue
	err := c.call(ctx, actGetSecretValue, "", func(ctx context.Context) error {
		req, resp := kms.CreateGetSecretValueRequest(), kms.CreateGetSecretValueResponse()
		req.SecretName = name
		req.VersionStage = stage
		if err := c.invoke(ctx, prodKMS, req, resp); err != nil {
			return err
		}
		if resp.SecretType != "" && resp.SecretType != SecretTypeRAMCredentials {
			return fmt.Errorf("secret of type %s, not %s", accesskey.Printable(resp.SecretType), SecretTypeRAMCredentials)
		}
		id, secret, gen, err := parseRAMSecretData(resp.SecretData)
		resp.SecretData = ""
		if err != nil {
			return err
		}
		out = RAMSecretValue{Name: resp.SecretName, VersionID: resp.VersionId, Stages: resp.VersionStages.VersionStage,
			AccessKeyID: id, Secret: secret, Generated: gen}
		return nil
	})
	if err != nil {
		return RAMSecretValue{}, fmt.Errorf("get KMS secret value %s (%s): %w", accesskey.Printable(name), stage, err)
	}
	return out, nil
}

// RotateSecret asks KMS to rotate a secret now. versionID is the idempotency key: KMS ignores a
// VersionId it already has and answers success, so a retried (or resumed) call is harmless and
// the client retries it.
func (c *Client) RotateSecret(ctx context.Context, name, versionID string) (SecretRotation, error) {
	var out SecretRotation
	err := c.call(ctx, actRotateSecret, "", func(ctx context.Context) error {
		req, resp := kms.CreateRotateSecretRequest(), kms.CreateRotateSecretResponse()
		req.SecretName = name
		req.VersionId = versionID
		if err := c.invoke(ctx, prodKMS, req, resp); err != nil {
			return err
		}
		out = SecretRotation{Name: resp.SecretName, VersionID: resp.VersionId, Arn: resp.Arn, RequestID: resp.RequestId}
		return nil
	})
	if err != nil {
		return SecretRotation{}, fmt.Errorf("rotate KMS secret %s (VersionId %s): %w", accesskey.Printable(name), accesskey.Printable(versionID), err)
	}
	return out, nil
}

// classifyKMSCode maps RotateSecret's refusals to their classes (classify applies it to that
// action only). Alibaba documents the rules (no rotation while one runs, at most 50 an hour) but
// not their codes: the emulator's (Rejected.RotationInProgress, Rejected.LimitExceeded;
// ram/emulator/README.md, INF) are matched, and so are near spellings of the same kinds.
func classifyKMSCode(code string) error {
	lc := strings.ToLower(code)
	switch {
	case strings.Contains(lc, "inprogress"), strings.Contains(lc, "rotating"):
		return ErrRotationInProgress
	case strings.Contains(lc, "limitexceeded"), strings.Contains(lc, "quota"):
		return ErrRotationLimit
	}
	return nil
}
