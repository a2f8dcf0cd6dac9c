// Types of the linkvault web SDK (link.js).

export interface LinkAccount {
  meshAccountId: string;
  frontAccountId: string;
  accountId: string;
  accountName: string;
  fund: number;
  cash: number;
}

export interface AccountToken {
  account: LinkAccount;
  /** With managed tokens, the persistent tokenId. */
  accessToken: string;
  tokenId: string;
}

export interface BrokerBrandInfo {
  brokerLogo: string;
  brokerPrimaryColor?: string;
}

/** Sent to onIntegrationConnected when an account is connected (or a return user's stored one is confirmed). */
export interface AccessTokenPayload {
  accountTokens: AccountToken[];
  brokerType: string;
  brokerName: string;
  brokerBrandInfo: BrokerBrandInfo;
  expiresInSeconds?: number;
}

/** A stored connection passed back into Link: accessToken carries the tokenId. */
export interface IntegrationAccessToken {
  accessToken: string;
  brokerType: string;
  brokerName: string;
  accountId: string;
  accountName: string;
}

export interface TransferFinishedPayload {
  status: 'success' | 'error';
  txId?: string;
  toAddress?: string;
  symbol?: string;
  amount?: number;
  networkName?: string;
  errorMessage?: string;
}

export interface LinkEvent {
  type: string;
  payload?: unknown;
}

export interface LinkOptions {
  onIntegrationConnected: (payload: AccessTokenPayload) => void;
  onExit?: (error?: string, summary?: Record<string, unknown>) => void;
  onTransferFinished?: (payload: TransferFinishedPayload) => void;
  onEvent?: (event: LinkEvent) => void;
  accessTokens?: IntegrationAccessToken[];
  language?: string;
  displayFiatCurrency?: string;
  theme?: 'light' | 'dark' | 'system';
  renderType?: 'overlay' | 'embedded';
}

export interface Link {
  /** Opens the session of linkToken in an overlay, or in the iframe with id customIframeId. */
  openLink(linkToken: string, customIframeId?: string): void;
  /** Closes Link at once (onExit is called). */
  closeLink(): void;
  /** Asks the Link page to close (embedded mode); it answers with a close message. */
  closeLinkRequested(): void;
}

export function createLink(options: LinkOptions): Link;
