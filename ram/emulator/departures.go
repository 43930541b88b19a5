package emulator

// Behaviours fixed to match Alibaba's documentation where the emulator used to differ (issue 13
// item 4; README "documented and inferred").

import "fmt"

// errUnknownAPI answers an unknown action (or a path other than /) [DOC: InvalidApi.NotFound,
// 404, in Alibaba's common error tables, e.g. EBS's].
func errUnknownAPI() *apiError {
	return violationf(404, "InvalidApi.NotFound", "Specified api is not found, please check your url and method.")
}

// principalID is the PrincipalId GetCallerIdentity reports for a RAM user: a stable 18-digit
// number that is not the UserId, as in the documented example (UserId 216959339000****,
// PrincipalId 28877424437521****). How the cloud derives it is not documented.
func principalID(accountID, userID string) string {
	h := uint64(14695981039346656037)
	for _, b := range []byte(accountID + ":" + userID) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return fmt.Sprintf("2%017d", mix64(h)%1e17)
}

// serviceNames are the English and Chinese names GetAccessKeyLastUsedInfo gives next to a
// service code (ServiceNameEn, ServiceNameCn: fields of the SDK response). The names are the
// products' names in Alibaba's consoles; which string the API sends is not documented [INF].
var serviceNames = map[string][2]string{
	"Ram":             {"Resource Access Management", "访问控制"},
	"Ims":             {"Resource Access Management", "访问控制"},
	"Sts":             {"Security Token Service", "安全令牌"},
	"Actiontrail":     {"ActionTrail", "操作审计"},
	"Kms":             {"Key Management Service", "密钥管理服务"},
	"ResourceManager": {"Resource Management", "资源管理"},
	"Ecs":             {"Elastic Compute Service", "云服务器 ECS"},
	"Oss":             {"Object Storage Service", "对象存储"},
	"BssOpenApi":      {"Billing Management", "费用中心"},
}

// errMemberAccount answers a Resource Directory call only the management account may make, from
// a member: the code Resource Management documents for a member calling a management action
// (SetMemberDeletionPermission, 403 MemberAccountAccessDenied). ListAccounts documents no error
// code; using this one for it is [INF].
func errMemberAccount() *apiError {
	return errf(403, "MemberAccountAccessDenied", "The member account is not allowed to perform the operation.")
}

// errRootAssumeRole is STS's documented answer when an account owner calls AssumeRole ("You
// cannot use an Alibaba Cloud account to call this operation"; OSS's STS error table gives the
// message).
func errRootAssumeRole() *apiError {
	return errf(403, "NoPermission", "Roles may not be assumed by root accounts.")
}
