package ram

import (
	"context"
	"errors"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/accesskey"
)

// PairChecker signs one GetCallerIdentity with a candidate AccessKey id and a leaked secret (the
// secret-match strategy). A nil error means the pair authenticated; ErrInvalidCredentials means
// it did not (the signature does not match, or the key is gone or disabled).
type PairChecker interface {
	CheckPair(ctx context.Context, id accesskey.ID) (Identity, error)
}

// PairCheck is a Client's PairChecker for one secret: every call goes to the client's endpoint
// through its HTTP transport, signed with the candidate id and the secret, never with the
// client's own key. Safe for concurrent use.
//
// Pace: each call is signed by another key (the candidate's), which signs only this one call of
// ours, so no key's pace is shared between tries, and the client's own pace does not apply.
// What may still slow the tries down is the cloud's flow control above a key (an account's or a
// caller's calls counted together, undocumented): every try of one PairCheck shares one adaptive
// pace, unpaced until the cloud throttles, and a throttled try is retried like any call (a
// throttled answer says nothing about the pair).
type PairCheck struct {
	c      *Client
	secret accesskey.Secret
	lim    *aimd
	pool   sync.Pool // of *pairConn
}

// PairCheck returns the checker of secret with candidate ids, through c's endpoint.
func (c *Client) PairCheck(secret accesskey.Secret) *PairCheck {
	return &PairCheck{c: c, secret: secret, lim: newClientAIMD()}
}

// pairConn is an SDK client whose credentials are set before each call: one goroutine holds it
// at a time.
type pairConn struct {
	cn   *conn
	prov *pairProvider
}

// pairProvider gives the SDK the candidate id and the secret of the call being signed.
type pairProvider struct {
	id     string
	secret accesskey.Secret
}

func (p *pairProvider) GetCredentials() (*credentials.Credentials, error) {
	if p.id == "" || p.secret.IsZero() {
		return nil, errors.New("secret-match: no candidate pair to sign with")
	}
	return &credentials.Credentials{AccessKeyId: p.id, AccessKeySecret: p.secret.Reveal(), ProviderName: p.GetProviderName()}, nil
}

func (p *pairProvider) GetProviderName() string { return "secret-match" }

func (p *PairCheck) take() (*pairConn, error) {
	if v := p.pool.Get(); v != nil {
		return v.(*pairConn), nil
	}
	prov := &pairProvider{secret: p.secret}
	cn, err := p.c.newConn(prov)
	if err != nil {
		return nil, err
	}
	return &pairConn{cn: cn, prov: prov}, nil
}

// CheckPair signs one GetCallerIdentity with (id, the secret). It is retried like a read
// (throttling, transient failures); an answer that the pair does not authenticate is not.
func (p *PairCheck) CheckPair(ctx context.Context, id accesskey.ID) (Identity, error) {
	var out Identity
	err := p.c.call(ctx, actGetCallerIdentity, id.String(), func(ctx context.Context) error {
		req, resp := sts.CreateGetCallerIdentityRequest(), sts.CreateGetCallerIdentityResponse()
		var pc *pairConn
		get := func() (*conn, error) {
			var err error
			if pc, err = p.take(); err != nil {
				return nil, err
			}
			pc.prov.id = id.String()
			return pc.cn, nil
		}
		put := func(*conn) {
			pc.prov.id = ""
			p.pool.Put(pc)
		}
		if err := p.c.invokeOn(ctx, p.lim, p.c.host(prodSTS), req, resp, get, put); err != nil {
			return err
		}
		if resp.RequestId == "" {
			return noRequestID() // not proof that the secret is this key's: the key would be deleted
		}
		out = Identity{AccountID: resp.AccountId, UserID: resp.UserId, RoleID: resp.RoleId, IdentityType: resp.IdentityType,
			PrincipalID: resp.PrincipalId, Arn: resp.Arn, AccessKeyID: id.String()}
		return nil
	})
	if err != nil {
		return Identity{}, err
	}
	return out, nil
}
