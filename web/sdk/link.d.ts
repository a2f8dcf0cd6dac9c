// Types of the linkvault web SDK (link.js). They are those of Mesh's
// @meshconnect/web-link-sdk (same names, fields and optionality), so code written
// against Mesh's package compiles unchanged: switching is a one-line import change.
// web/sdk_compat_test.go checks both directions against the published package.

/** An integration's broker type ("coinbase", "binanceInternationalDirect", "uphold", "sandbox", …). */
export type BrokerType = 'coinbase' | 'binanceInternationalDirect' | 'uphold' | 'sandbox' | (string & {});

/** Messages the Link page posts that the SDK turns into callbacks. */
export type EventType = 'brokerageAccountAccessToken' | 'delayedAuthentication' | 'loaded' | 'transferFinished';

export interface Link {
  /** Opens Link for linkToken (from POST /api/v1/linktoken) in an overlay, or in the iframe with id customIframeId. */
  openLink: (linkToken: string, customIframeId?: string) => void;
  /** Closes Link at once; onExit is called without arguments. */
  closeLink: () => void;
  /** Embedded mode: asks the Link page to close (it answers with close); otherwise closeLink(). */
  closeLinkRequested: () => void;
}

export interface Account {
  accountId: string;
  accountName: string;
  fund?: number;
  cash?: number;
  isReconnected?: boolean;
}

export interface AccountToken {
  account: Account;
  /** With managed tokens, the persistent tokenId. */
  accessToken: string;
  refreshToken?: string;
  /** The persistent tokenId to store and pass back in accessTokens. */
  tokenId?: string;
}

export interface BrandInfo {
  /** The integration's logo image, base64. */
  brokerLogo: string;
  brokerLogoUrl?: string;
  logoLightUrl?: string;
  logoDarkUrl?: string;
  iconLightUrl?: string;
  iconDarkUrl?: string;
}

export interface LinkPayload {
  accessToken?: AccessTokenPayload;
  delayedAuth?: DelayedAuthPayload;
}

export interface AccessTokenPayload {
  accountTokens: AccountToken[];
  brokerBrandInfo: BrandInfo;
  expiresInSeconds?: number;
  refreshTokenExpiresInSeconds?: number;
  brokerType: BrokerType;
  brokerName: string;
}

export interface DelayedAuthPayload {
  refreshTokenExpiresInSeconds?: number;
  brokerType: BrokerType;
  refreshToken: string;
  brokerName: string;
  brokerBrandInfo: BrandInfo;
}

/** A transfer as its events report it (transferFinished's payload, transferExecuted's). */
interface TransferDetails {
  txId: string;
  fromAddress: string;
  toAddress: string;
  symbol: string;
  amount: number;
  networkId: string;
  userId?: string;
  clientTransactionId?: string;
}

export interface TransferFinishedPayload extends TransferDetails {
  status: 'success';
  amountInFiat?: number;
  totalAmountInFiat?: number;
  networkName?: string;
  txHash?: string;
  transferId?: string;
  refundAddress?: string;
}

/** A stored connection passed back into Link: accessToken carries the tokenId. */
export interface IntegrationAccessToken {
  accountId: string;
  accountName: string;
  accessToken: string;
  brokerType: BrokerType;
  brokerName: string;
}

export interface LinkOptions {
  /** @deprecated Unused. */
  clientId?: string;
  /** An account was connected (payload.accessToken) or, for a return user, confirmed. */
  onIntegrationConnected: (payload: LinkPayload) => void;
  /** Link closed: error is the session's error message, if any; summary says where the user was. */
  onExit?: (error?: string, summary?: SessionSummary) => void;
  /** A transfer was executed (failures arrive as onEvent transferExecutionError). */
  onTransferFinished?: (payload: TransferFinishedPayload) => void;
  /** Every event of the session (integrationConnected, transferCompleted, pageLoaded, …). */
  onEvent?: (event: LinkEventType) => void;
  /** The user's stored tokens: Link opens on their accounts with no sign-in. */
  accessTokens?: IntegrationAccessToken[];
  /** Link UI language ('en', 'es', or 'system' for the browser's). */
  language?: string;
  /** ISO 4217 code of the currency values are shown in. */
  displayFiatCurrency?: string;
  theme?: 'dark' | 'light' | 'system';
  /** 'overlay' (default) or 'embedded' in the app's iframe (openLink's customIframeId, required). */
  renderType?: 'overlay' | 'embedded';
}

export interface LinkStyle {
  ir: number;
  io: number;
}

/** Where the session ended, sent with close and done. */
export interface SessionSummary {
  /** The screen the user was on: 'integrationConnectedPage', 'transferExecutedPage', 'errorPage', … */
  page: string;
  selectedIntegration?: {
    id?: string;
    name?: string;
    integrationType?: string;
    integrationName?: string;
  };
  transfer?: {
    previewId?: string;
    symbol?: string;
    amount?: number;
    amountInFiat?: number;
    transactionId?: string;
    networkId?: string;
  };
  errorMessage?: string;
}

export type LinkEventTypeKeys =
  | 'integrationConnected' | 'integrationConnectionError' | 'integrationMfaRequired' | 'integrationMfaEntered'
  | 'integrationOAuthStarted' | 'integrationAccountSelectionRequired' | 'transferCompleted' | 'integrationSelected'
  | 'credentialsEntered' | 'transferStarted' | 'transferPreviewed' | 'transferPreviewError' | 'transferExecutionError'
  | 'transferConfigureError' | 'pageLoaded' | 'transferAssetSelected' | 'transferNetworkSelected' | 'transferAmountEntered'
  | 'transferMfaRequired' | 'transferMfaEntered' | 'transferKycRequired' | 'transferExecuted' | 'transferInitiated'
  | 'transferNoEligibleAssets' | 'walletMessageSigned' | 'verifyDonePage' | 'verifyWalletRejected' | 'connectionDeclined'
  | 'connectionUnavailable' | 'transferDeclined' | 'done' | 'close' | 'SDKinjectedWalletProviders' | 'legalTermsViewed'
  | 'seeWhatHappenedClicked' | 'executeFundingStep' | 'fundingOptionsUpdated' | 'fundingOptionsViewed' | 'gasIncreaseWarning'
  | 'linkTransferQRGenerated' | 'methodSelected' | 'defiWalletError' | 'homePageLoaded';

export function isLinkEventTypeKey(key: string): key is LinkEventTypeKeys;

interface LinkEventBase {
  type: LinkEventTypeKeys;
}

interface ErrorPayload {
  errorMessage: string;
  requestId?: string;
}

export interface PageLoaded { type: 'pageLoaded'; }
export interface IntegrationConnected extends LinkEventBase { type: 'integrationConnected'; payload: LinkPayload; }
export interface IntegrationConnectionError extends LinkEventBase { type: 'integrationConnectionError'; payload: ErrorPayload; }
export interface TransferCompleted extends LinkEventBase { type: 'transferCompleted'; payload: TransferFinishedPayload; }
export interface IntegrationSelected extends LinkEventBase {
  type: 'integrationSelected';
  payload: { integrationType: string; integrationName: string; nativeLink?: string; userSearched?: boolean };
}
export interface CredentialsEntered extends LinkEventBase { type: 'credentialsEntered'; }
export interface TransferStarted extends LinkEventBase {
  type: 'transferStarted';
  payload: { integrationType?: string; integrationName: string };
}
export interface TransferInitiated extends LinkEventBase {
  type: 'transferInitiated';
  payload: { integrationType?: string; integrationName: string; status: 'pending' };
}
export interface TransferExecuted extends LinkEventBase {
  type: 'transferExecuted';
  payload: TransferDetails & { status: 'success' | 'pending' };
}
export interface TransferNoEligibleAssets extends LinkEventBase {
  type: 'transferNoEligibleAssets';
  payload: {
    integrationType?: string;
    integrationName: string;
    noAssetsType?: string;
    arrayOfTokensHeld: { symbol: string; amount: number; amountInFiat?: number; ineligibilityReason?: string }[];
  };
}
export interface TransferFee {
  fee?: number;
  feeCurrency?: string;
  feeInFiat?: number;
}
export interface CryptocurrencyFundingOption {
  cryptocurrencyFundingOptionType?: string;
  name?: string;
  paymentMethodType?: string;
  usedAmountInCryptocurrency?: number;
  usedAmountInFiat?: number;
  cryptocurrencySymbol?: string;
  fee?: {
    amountInFiat?: number;
    fiatSymbol?: string;
    amountInCryptocurrency?: number;
    cryptocurrencySymbol?: string;
    isInclusive?: boolean;
    usedCurrencyType?: string;
  };
}
export interface TransferPreviewed extends LinkEventBase {
  type: 'transferPreviewed';
  payload: {
    amount: number;
    symbol: string;
    toAddress: string;
    networkId: string;
    previewId: string;
    networkName?: string;
    amountInFiat?: number;
    fiatCurrency?: string;
    integrationType?: string;
    integrationName?: string;
    estimatedNetworkGasFee?: TransferFee;
    institutionTransferFee?: TransferFee;
    customClientFee?: TransferFee;
    cryptocurrencyFundingOptions?: CryptocurrencyFundingOption[];
    userId?: string;
    clientTransactionId?: string;
  };
}
export interface TransferPreviewError extends LinkEventBase { type: 'transferPreviewError'; payload: ErrorPayload; }
export interface TransferExecutionError extends LinkEventBase { type: 'transferExecutionError'; payload: ErrorPayload; }
export interface TransferConfigureError extends LinkEventBase { type: 'transferConfigureError'; payload: ErrorPayload; }
export interface IntegrationMfaRequired extends LinkEventBase { type: 'integrationMfaRequired'; }
export interface IntegrationMfaEntered extends LinkEventBase { type: 'integrationMfaEntered'; }
export interface IntegrationOAuthStarted extends LinkEventBase { type: 'integrationOAuthStarted'; }
export interface IntegrationAccountSelectionRequired extends LinkEventBase { type: 'integrationAccountSelectionRequired'; }
export interface TransferAssetSelected extends LinkEventBase { type: 'transferAssetSelected'; payload: { symbol: string }; }
export interface TransferNetworkSelected extends LinkEventBase { type: 'transferNetworkSelected'; payload: { id: string; name: string }; }
export interface TransferAmountEntered extends LinkEventBase { type: 'transferAmountEntered'; }
export interface TransferMfaRequired extends LinkEventBase { type: 'transferMfaRequired'; }
export interface TransferMfaEntered extends LinkEventBase { type: 'transferMfaEntered'; }
export interface TransferKycRequired extends LinkEventBase { type: 'transferKycRequired'; }
export interface ConnectionUnavailable extends LinkEventBase {
  type: 'connectionUnavailable';
  payload: { integrationType?: string; integrationName: string; reason: string };
}
export interface ConnectionDeclined extends LinkEventBase {
  type: 'connectionDeclined';
  payload: { integrationType?: string; integrationName: string; reason: string; networkId?: string; toAddress?: string; errorMessage?: string };
}
export interface TransferDeclined extends LinkEventBase {
  type: 'transferDeclined';
  payload: { integrationType?: string; integrationName: string; toAddress?: string; token?: string; network?: string; amount?: number; status: string };
}
export interface DoneEvent extends LinkEventBase { type: 'done'; payload: SessionSummary; }
export interface CloseEvent extends LinkEventBase { type: 'close'; payload: SessionSummary; }
export interface WalletMessageSigned extends LinkEventBase {
  type: 'walletMessageSigned';
  payload: {
    signedMessageHash: string | undefined;
    message: string | undefined;
    address: string;
    timeStamp: number;
    isVerified: boolean;
    verifiedAddresses?: string[];
  };
}
export interface DefiWalletError extends LinkEventBase {
  type: 'defiWalletError';
  payload: {
    integrationName: string;
    errorType: 'timeout' | 'verifyMismatch';
    details: { requestedAddress?: string; connectedAddress?: string; requestedNetwork?: string; connectedNetwork?: string; connectUri?: string };
    timeStamp: number;
  };
}
export interface VerifyDonePage extends LinkEventBase { type: 'verifyDonePage'; }
export interface VerifyWalletRejected extends LinkEventBase { type: 'verifyWalletRejected'; }
export interface SDKinjectedWalletProviders extends LinkEventBase {
  type: 'SDKinjectedWalletProviders';
  payload: Array<{ icon?: string; id: string; name: string }>;
}
export interface LegalTermsViewed { type: 'legalTermsViewed'; }
export interface SeeWhatHappenedClicked { type: 'seeWhatHappenedClicked'; }
export interface FundingOptionsUpdated { type: 'fundingOptionsUpdated'; }
export interface FundingOptionsViewed { type: 'fundingOptionsViewed'; }
export interface GasIncreaseWarning { type: 'gasIncreaseWarning'; }
export interface ExecuteFundingStep {
  type: 'executeFundingStep';
  payload: { cryptocurrencyFundingOptionType: string; status: string; errorMessage?: string };
}
export interface LinkTransferQrGenerated {
  type: 'linkTransferQRGenerated';
  payload: { token?: string; network?: string; toAddress?: string; qrUrl?: string };
}
export interface HomePageMethodSelected {
  type: 'methodSelected';
  payload: { method: 'embedded' | 'manual' | 'buy' };
}
export interface HomePageLoaded extends LinkEventBase { type: 'homePageLoaded'; }

export type LinkEventType =
  | IntegrationConnected | IntegrationConnectionError | TransferCompleted | IntegrationSelected | CredentialsEntered
  | TransferStarted | TransferPreviewed | TransferPreviewError | TransferExecutionError | TransferConfigureError
  | PageLoaded | IntegrationMfaRequired | IntegrationMfaEntered | IntegrationOAuthStarted
  | IntegrationAccountSelectionRequired | TransferAssetSelected | TransferNetworkSelected | TransferAmountEntered
  | TransferMfaRequired | TransferMfaEntered | TransferKycRequired | TransferInitiated | TransferExecuted
  | TransferNoEligibleAssets | WalletMessageSigned | DoneEvent | CloseEvent | VerifyWalletRejected | VerifyDonePage
  | SDKinjectedWalletProviders | LegalTermsViewed | SeeWhatHappenedClicked | FundingOptionsUpdated | FundingOptionsViewed
  | GasIncreaseWarning | ExecuteFundingStep | LinkTransferQrGenerated | HomePageMethodSelected | ConnectionUnavailable
  | ConnectionDeclined | TransferDeclined | DefiWalletError | HomePageLoaded;

export function createLink(options: LinkOptions): Link;

declare global {
  interface Window {
    /** Accepted for compatibility with Mesh's SDK; linkvault's never prewarms. */
    meshLinkShouldSkipPrewarm?: boolean;
  }
}
