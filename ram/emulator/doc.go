// Package emulator is an in-process Alibaba Cloud emulator (RAM, IMS, STS, ActionTrail, KMS,
// ResourceManager) that the real alibaba-cloud-sdk-go and the aliyun CLI cannot tell from the
// cloud for the calls respond makes: RPC on "/", Signature V1 checked against a live key table,
// the gateway checks in spec order, exact JSON shapes, faults. Use it like net/http/httptest:
//
//	org := emulator.DemoOrg()
//	s := emulator.NewServer(org)
//	defer s.Close()
//	// point an SDK client at s.Endpoint() over HTTP, signing with org.Admin()
//
// A served call allocates little and takes the state lock briefly (the answer is encoded
// outside it); the request log, ActionTrail history and SignatureNonce memory are bounded. See
// README.md for the options, faults, the demo organisation and the measured throughput.
package emulator
