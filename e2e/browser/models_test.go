package browser_test

// The message models of Mesh's SDKs, transcribed from their sources into schemas that
// the browser tests decode every Link message with. A field is required where the
// SDK's model makes it non-optional (Swift non-Optional, Kotlin non-null, Dart `as
// String` without `?`, TypeScript without `?`); a required field that is missing,
// null or of another JSON type is a decoding failure, which in the SDK means a lost
// callback (Swift `try?` returns nil, Dart's fromJson throws and the message is
// dropped, Kotlin gets null in a non-null field).
//
// Sources (read at these commits):
//   - iOS:          FrontFin/mesh-ios-sdk@7a67b348ad956639ef619cd2fee61a64abe55a68
//     LinkSDK/Models/Payload.swift, LinkSDK/LinkWebViewController/LinkWebViewViewController.swift
//   - Android:      FrontFin/mesh-android-sdk@45892aafb411e146d2a882d7589b2bbafd65f5f7
//     link/src/main/java/com/meshconnect/link/entity/LinkPayload.kt, entity/JsType.kt,
//     usecase/DeserializeLinkMessageUseCase.kt, converter/TransferFinishedPayloadDeserializer.kt,
//     usecase/BroadcastLinkMessageUseCase.kt
//   - React Native: FrontFin/mesh-react-native-sdk@7ba5504d8d48f0350b2f91ca85168038d4237e98
//     src/types/index.ts, src/hooks/useSDKCallbacks.ts
//   - Flutter:      FrontFin/mesh-flutter-sdk@416e2310ea0123288e70072beb114645fe079cf6
//     lib/src/model/integration/*.dart, lib/src/model/transfer/transfer_finished_payload.dart,
//     lib/src/model/success/*.dart, lib/src/model/mesh_internal_event.dart,
//     lib/src/model/mesh_event.dart, lib/src/model/mesh_result.dart
//   - web:          FrontFin/mesh-web-sdk@e7c178a9f4cab0e1fc028b0511deb4ff114776b9
//     packages/link/src/utils/types.ts, packages/link/src/utils/event-types.ts

import (
	"fmt"
	"math"
	"slices"
)

type kind int

const (
	kAny kind = iota
	kStr
	kNum
	kInt
	kBool
	kObj
	kList
)

// schema is the JSON shape a model decodes.
type schema struct {
	k      kind
	fields []field
	elem   *schema
	enum   []string // allowed values of a string
}

type field struct {
	name string
	req  bool
	s    schema
}

var (
	str     = schema{k: kStr}
	num     = schema{k: kNum}
	integer = schema{k: kInt}
	boolean = schema{k: kBool}
	anyJSON = schema{k: kAny}
)

func obj(fs ...field) schema          { return schema{k: kObj, fields: fs} }
func list(s schema) schema            { return schema{k: kList, elem: &s} }
func oneOf(vals ...string) schema     { return schema{k: kStr, enum: vals} }
func req(name string, s schema) field { return field{name: name, req: true, s: s} }
func opt(name string, s schema) field { return field{name: name, s: s} }
func (s schema) decode(v any) error   { return s.check("payload", v) }
func (s schema) check(path string, v any) error {
	switch s.k {
	case kAny:
		return nil
	case kStr:
		x, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T (%v)", path, v, v)
		}
		if s.enum != nil && !slices.Contains(s.enum, x) {
			return fmt.Errorf("%s: %q is not one of %v", path, x, s.enum)
		}
	case kNum, kInt:
		x, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T (%v)", path, v, v)
		}
		if s.k == kInt && x != math.Trunc(x) {
			return fmt.Errorf("%s: want an integer, got %v", path, x)
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", path, v)
		}
	case kList:
		xs, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %T", path, v)
		}
		for i, x := range xs {
			if err := s.elem.check(fmt.Sprintf("%s[%d]", path, i), x); err != nil {
				return err
			}
		}
	case kObj:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", path, v)
		}
		for _, f := range s.fields {
			x, present := m[f.name]
			if !present || x == nil {
				if f.req {
					return fmt.Errorf("%s.%s: required, missing", path, f.name)
				}
				continue
			}
			if err := f.s.check(path+"."+f.name, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// sdkModels is what one SDK decodes: the payload schema of each message type it
// parses (types it does not parse are passed through or ignored by it), the types
// that end the session (its exit callback) and the event names it forwards.
type sdkModels struct {
	payloads map[string]schema
	// exits are the message types that reach the SDK's exit callback.
	exits []string
	// events are the progress event names the SDK forwards to onEvent (nil: all).
	events []string
}

// Mesh's web SDK (and so linkvault's, which must type the same): types.ts, event-types.ts.
var webTransferFinished = obj(
	req("status", oneOf("success")), req("txId", str), req("fromAddress", str), req("toAddress", str),
	req("symbol", str), req("amount", num), req("networkId", str),
	opt("userId", str), opt("clientTransactionId", str), opt("amountInFiat", num), opt("totalAmountInFiat", num),
	opt("networkName", str), opt("txHash", str), opt("transferId", str), opt("refundAddress", str))

var webSessionSummary = obj(req("page", str),
	opt("selectedIntegration", obj(opt("id", str), opt("name", str), opt("integrationType", str), opt("integrationName", str))),
	opt("transfer", obj(opt("previewId", str), opt("symbol", str), opt("amount", num), opt("amountInFiat", num), opt("transactionId", str), opt("networkId", str))),
	opt("errorMessage", str))

var webAccessTokenPayload = obj(
	req("accountTokens", list(obj(
		req("account", obj(req("accountId", str), req("accountName", str), opt("fund", num), opt("cash", num), opt("isReconnected", boolean))),
		req("accessToken", str), opt("refreshToken", str), opt("tokenId", str)))),
	req("brokerBrandInfo", obj(req("brokerLogo", str), opt("brokerLogoUrl", str), opt("logoLightUrl", str), opt("logoDarkUrl", str), opt("iconLightUrl", str), opt("iconDarkUrl", str))),
	opt("expiresInSeconds", num), opt("refreshTokenExpiresInSeconds", num), req("brokerType", str), req("brokerName", str))

// Event payloads of event-types.ts (web and React Native share them).
var webEventPayloads = map[string]schema{
	"integrationConnectionError": obj(req("errorMessage", str), opt("requestId", str)),
	"integrationSelected":        obj(req("integrationType", str), req("integrationName", str), opt("nativeLink", str), opt("userSearched", boolean)),
	"transferStarted":            obj(opt("integrationType", str), req("integrationName", str)),
	"transferPreviewed": obj(req("amount", num), req("symbol", str), req("toAddress", str), req("networkId", str), req("previewId", str),
		opt("networkName", str), opt("amountInFiat", num), opt("fiatCurrency", str), opt("integrationType", str), opt("integrationName", str),
		opt("estimatedNetworkGasFee", obj(opt("fee", num), opt("feeCurrency", str), opt("feeInFiat", num))), opt("clientTransactionId", str)),
	"transferPreviewError":    obj(req("errorMessage", str), opt("requestId", str)),
	"transferExecutionError":  obj(req("errorMessage", str), opt("requestId", str)),
	"transferExecuted":        obj(req("status", oneOf("success", "pending")), req("txId", str), req("fromAddress", str), req("toAddress", str), req("symbol", str), req("amount", num), req("networkId", str), opt("userId", str), opt("clientTransactionId", str)),
	"transferAssetSelected":   obj(req("symbol", str)),
	"transferNetworkSelected": obj(req("id", str), req("name", str)),
}

// webEventKeys is LINK_EVENT_TYPE_KEYS of event-types.ts: what onEvent receives.
var webEventKeys = []string{"integrationConnected", "integrationConnectionError", "integrationMfaRequired", "integrationMfaEntered",
	"integrationOAuthStarted", "integrationAccountSelectionRequired", "transferCompleted", "integrationSelected", "credentialsEntered",
	"transferStarted", "transferPreviewed", "transferPreviewError", "transferExecutionError", "transferConfigureError", "pageLoaded",
	"transferAssetSelected", "transferNetworkSelected", "transferAmountEntered", "transferMfaRequired", "transferMfaEntered",
	"transferKycRequired", "transferExecuted", "transferInitiated", "transferNoEligibleAssets", "walletMessageSigned", "verifyDonePage",
	"verifyWalletRejected", "connectionDeclined", "connectionUnavailable", "transferDeclined", "done", "close", "SDKinjectedWalletProviders",
	"legalTermsViewed", "seeWhatHappenedClicked", "executeFundingStep", "fundingOptionsUpdated", "fundingOptionsViewed", "gasIncreaseWarning",
	"linkTransferQRGenerated", "methodSelected", "defiWalletError", "homePageLoaded"}

func withEvents(base map[string]schema, more map[string]schema) map[string]schema {
	out := map[string]schema{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

var webModels = sdkModels{
	payloads: withEvents(webEventPayloads, map[string]schema{
		"brokerageAccountAccessToken": webAccessTokenPayload,
		"transferFinished":            webTransferFinished,
		"close":                       webSessionSummary,
		"done":                        webSessionSummary,
	}),
	exits:  []string{"close", "done"},
	events: webEventKeys,
}

// iOS: Payload.swift (Codable). AccessTokenPayload, AccountToken, Account, BrandInfo,
// TransferFinishedSuccessPayload / TransferFinishedErrorPayload. close, done and
// showClose all reach onExit (showClose through the SDK's confirmation alert).
var iosModels = sdkModels{
	payloads: map[string]schema{
		"brokerageAccountAccessToken": obj(
			req("accountTokens", list(obj(
				req("account", obj(req("accountId", str), req("accountName", str), opt("frontAccountId", str), opt("fund", num), opt("cash", num), opt("isReconnected", boolean))),
				req("accessToken", str), opt("refreshToken", str)))),
			req("brokerBrandInfo", obj(req("brokerLogo", str), opt("brokerPrimaryColor", str))),
			opt("expiresInSeconds", integer), opt("refreshTokenExpiresInSeconds", integer), req("brokerType", str), req("brokerName", str)),
		"transferFinished": obj(req("status", oneOf("success", "error")),
			opt("txId", str), opt("transferId", str), opt("txHash", str), opt("fromAddress", str), opt("toAddress", str),
			req("symbol", str), req("amount", num), opt("amountInFiat", num), opt("totalAmountInFiat", num), opt("networkId", str), opt("networkName", str)),
	},
	exits: []string{"close", "done", "showClose"},
}

// Android: LinkPayload.kt (Gson into Kotlin data classes; non-null fields required;
// the deserializer fills a missing fromAddress/toAddress with "").
var androidModels = sdkModels{
	payloads: map[string]schema{
		"brokerageAccountAccessToken": obj(
			req("accountTokens", list(obj(
				req("account", obj(req("accountId", str), req("accountName", str), req("frontAccountId", str), opt("fund", num), opt("cash", num), opt("isReconnected", boolean))),
				req("accessToken", str), opt("refreshToken", str)))),
			req("brokerType", str), req("brokerName", str),
			req("brokerBrandInfo", obj(opt("brokerLogo", str), opt("brokerPrimaryColor", str), opt("logoLightUrl", str), opt("logoDarkUrl", str), opt("iconLightUrl", str), opt("iconDarkUrl", str))),
			opt("expiresInSeconds", integer), opt("refreshTokenExpiresInSeconds", integer)),
		"transferFinished": obj(req("status", oneOf("success")), req("txId", str), req("fromAddress", str), req("toAddress", str), req("symbol", str),
			req("amount", num), req("networkId", str), opt("amountInFiat", num), opt("totalAmountInFiat", num), opt("networkName", str),
			opt("txHash", str), opt("transferId", str), opt("refundAddress", str)),
	},
	exits: []string{"close", "done", "showClose"},
	// FilterLinkMessage.types (plus the mapped brokerageAccountAccessToken, transferFinished, loaded).
	events: []string{"integrationConnectionError", "integrationConnected", "integrationSelected", "credentialsEntered", "transferStarted",
		"transferExecuted", "transferInitiated", "transferPreviewed", "transferPreviewError", "transferExecutionError", "transferNoEligibleAssets",
		"walletMessageSigned", "defiWalletError", "paypalComplianceDeclined", "verifyDonePage", "verifyWalletRejected", "integrationMfaRequired",
		"integrationMfaEntered", "integrationOAuthStarted", "integrationAccountSelectionRequired", "transferAmountEntered", "transferMfaRequired",
		"transferMfaEntered", "transferKycRequired", "connectionDeclined", "transferConfigureError", "transferAssetSelected",
		"transferNetworkSelected", "connectionUnavailable", "transferDeclined", "legalTermsViewed", "seeWhatHappenedClicked",
		"executeFundingStep", "fundingOptionsUpdated", "fundingOptionsViewed", "gasIncreaseWarning", "linkTransferQRGenerated",
		"methodSelected", "homePageLoaded"},
}

// React Native: src/types/index.ts (AccessTokenPayload, TransferFinishedSuccessPayload,
// event payloads as the web SDK's). handleMessage sends close, done and exit to onExit
// and answers showClose with its Alert.
var reactNativeModels = sdkModels{
	payloads: withEvents(webEventPayloads, map[string]schema{
		"brokerageAccountAccessToken": obj(
			req("accountTokens", list(obj(
				req("account", obj(req("accountId", str), req("accountName", str), opt("fund", num), opt("cash", num), opt("isReconnected", boolean))),
				req("accessToken", str), opt("refreshToken", str), opt("tokenId", str)))),
			req("brokerBrandInfo", obj(req("brokerLogo", str), opt("brokerPrimaryColor", str), opt("logoLightUrl", str), opt("logoDarkUrl", str), opt("iconLightUrl", str), opt("iconDarkUrl", str))),
			opt("expiresInSeconds", num), opt("refreshTokenExpiresInSeconds", num), req("brokerType", str), req("brokerName", str)),
		"transferFinished": webTransferFinished,
	}),
	exits: []string{"close", "done", "exit", "showClose"},
	// LINK_EVENT_TYPE_KEYS of src/types/index.ts.
	events: []string{"integrationConnected", "integrationConnectionError", "transferCompleted", "integrationSelected", "credentialsEntered",
		"transferStarted", "transferPreviewed", "transferPreviewError", "transferExecutionError", "transferExecuted", "transferInitiated",
		"transferNoEligibleAssets", "pageLoaded", "walletMessageSigned", "verifyDonePage", "verifyWalletRejected", "integrationMfaRequired",
		"integrationMfaEntered", "integrationOAuthStarted", "integrationAccountSelectionRequired", "transferAssetSelected",
		"transferNetworkSelected", "transferAmountEntered", "transferMfaRequired", "transferMfaEntered", "transferKycRequired",
		"connectionDeclined", "transferConfigureError", "connectionUnavailable", "transferDeclined", "legalTermsViewed",
		"seeWhatHappenedClicked", "executeFundingStep", "fundingOptionsUpdated", "fundingOptionsViewed", "gasIncreaseWarning",
		"linkTransferQRGenerated", "methodSelected", "homePageLoaded", "defiWalletError"},
}

// Flutter: the fromJson factories. close/done are MeshResult only with a Map payload
// whose page is a String (SuccessPayload.fromJson); without one the SDK never leaves
// Link. Events are MeshEvent.fromJson's cases.
var flutterModels = sdkModels{
	payloads: map[string]schema{
		"brokerageAccountAccessToken": obj(
			req("accountTokens", list(obj(
				req("account", obj(req("accountId", str), req("accountName", str), opt("fund", num), opt("cash", num), opt("isReconnected", boolean))),
				req("accessToken", str), opt("refreshToken", str)))),
			req("brokerBrandInfo", obj(opt("brokerLogo", str), opt("brokerPrimaryColor", str), opt("logoLightUrl", str), opt("logoDarkUrl", str), opt("iconLightUrl", str), opt("iconDarkUrl", str))),
			opt("expiresInSeconds", integer), opt("refreshTokenExpiresInSeconds", integer), req("brokerType", str), req("brokerName", str)),
		"transferFinished": obj(req("status", oneOf("success")), req("txId", str), req("fromAddress", str), req("toAddress", str), req("symbol", str),
			req("amount", num), req("networkId", str), opt("amountInFiat", num), opt("totalAmountInFiat", num), opt("networkName", str),
			opt("txHash", str), opt("transferId", str), opt("refundAddress", str)),
		"close":                      flutterSuccess,
		"done":                       flutterSuccess,
		"integrationSelected":        obj(req("integrationType", str), req("integrationName", str)),
		"integrationConnectionError": obj(req("errorMessage", str)),
		"transferPreviewed": obj(opt("amount", num), req("symbol", str), req("toAddress", str), req("networkId", str), req("previewId", str),
			opt("networkName", str), opt("amountInFiat", num), opt("estimatedNetworkGasFee", obj(opt("fee", num), opt("feeCurrency", str), opt("feeInFiat", num)))),
		"transferPreviewError":   obj(req("errorMessage", str)),
		"transferExecutionError": obj(req("errorMessage", str)),
		"transferExecuted":       obj(req("status", oneOf("pending", "success")), req("txId", str), req("fromAddress", str), req("toAddress", str), req("symbol", str), req("amount", num), req("networkId", str)),
	},
	exits: []string{"close", "done", "showClose"},
	events: []string{"integrationSelected", "loaded", "integrationConnectionError", "credentialsEntered", "transferStarted", "transferPreviewed",
		"transferPreviewError", "transferExecutionError", "transferInitiated", "transferExecuted", "transferNoEligibleAssets",
		"walletMessageSigned", "verifyDonePage", "verifyWalletRejected", "legalTermsViewed", "seeWhatHappenedClicked", "fundingOptionsUpdated",
		"fundingOptionsViewed", "gasIncreaseWarning", "executeFundingStep", "integrationMfaEntered", "integrationOAuthStarted",
		"integrationAccountSelectionRequired", "transferAssetSelected", "transferNetworkSelected", "transferAmountEntered",
		"transferMfaRequired", "transferMfaEntered", "transferKycRequired", "connectionDeclined", "transferConfigureError",
		"connectionUnavailable", "transferDeclined", "linkTransferQRGenerated", "methodSelected"},
}

var flutterSuccess = obj(req("page", str),
	opt("selectedIntegration", obj(opt("id", str), opt("name", str))),
	opt("transfer", obj(opt("amount", num), opt("amountInFiat", num), opt("symbol", str), opt("transactionId", str), opt("networkId", str), opt("previewId", str))))

var _ = anyJSON
