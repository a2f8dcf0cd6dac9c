// Shapes of the data the Link page works with (JSDoc only; nothing runs here). Server
// shapes mirror internal/link and the root package; wire shapes are Mesh's Link
// protocol (docs/mobile.md).

/**
 * @typedef {object} Integration An exchange the session may connect (linkvault.Integration).
 * @property {string} type brokerType
 * @property {string} name
 * @property {'oauth' | 'apiKey'} authKind
 * @property {string} [logoUrl]
 * @property {string} [brandColor]
 * @property {boolean} [supportsTransfers]
 * @property {string[]} [networks]
 * @property {ApiKeyInstructions} [apiKey] what to create at the exchange (authKind apiKey)
 */

/**
 * @typedef {object} ApiKeyInstructions How to create a key (linkvault.APIKeyInstructions).
 * @property {string} manageUrl the exchange's page for creating and deleting keys
 * @property {string} [docsUrl]
 * @property {string[]} readPermissions
 * @property {string[]} writePermissions
 * @property {string[]} [forbiddenPermissions]
 * @property {string[]} [trustedIps] the service's addresses for the key's IP restriction
 * @property {boolean} [writeNeedsTrustedIps]
 */

/**
 * @typedef {object} Account
 * @property {string} meshAccountId
 * @property {string} frontAccountId
 * @property {string} accountId
 * @property {string} accountName
 * @property {number} [fund]
 * @property {number} [cash]
 */

/**
 * @typedef {object} AccountToken
 * @property {Account} account
 * @property {string} accessToken
 * @property {string} tokenId
 */

/**
 * @typedef {object} BrandInfo
 * @property {string} brokerLogo base64 of the logo image
 * @property {string} [brokerLogoUrl]
 * @property {string} [logoLightUrl]
 * @property {string} [logoDarkUrl]
 * @property {string} [iconLightUrl]
 * @property {string} [iconDarkUrl]
 * @property {string} [brokerPrimaryColor]
 */

/**
 * @typedef {object} AccessTokenPayload Mesh's AccessTokenPayload (brokerageAccountAccessToken).
 * @property {AccountToken[]} accountTokens
 * @property {string} brokerType
 * @property {string} brokerName
 * @property {BrandInfo} brokerBrandInfo
 * @property {number} [expiresInSeconds]
 */

/**
 * @typedef {object} Outcome How an authentication step ended (link.Outcome).
 * @property {'connected' | 'failed'} status
 * @property {string} [brokerType] the integration signed in to
 * @property {AccessTokenPayload} [payload]
 * @property {boolean} [reauthenticated]
 * @property {string} [errorType]
 * @property {string} [message]
 */

/**
 * @typedef {object} SessionOptions Options the app set on the linkToken.
 * @property {string} [brokerType]
 * @property {boolean} [restrictMultipleAccounts]
 */

/**
 * @typedef {object} Boot The data the server renders on <body data-boot>.
 * @property {string} secret page secret for /link/api/*
 * @property {string} lang
 * @property {string} fiatCur
 * @property {string} theme
 * @property {'overlay' | 'embedded'} renderType
 * @property {'read' | 'write'} permission
 * @property {SessionOptions} [options]
 * @property {Integration[]} integrations
 * @property {Record<string, string>} messages
 * @property {Outcome} [outcome]
 * @property {string} [reauthTokenId]
 * @property {{ name: string, logo?: string }} [app] the client application: name and logo
 * @property {string[]} [allowedOrigins] origins that may frame the page ("*": any)
 */

/**
 * @typedef {object} Known A stored token the app passed in that this session may use (link.Known).
 * @property {string} tokenId
 * @property {string} brokerType
 * @property {string} brokerName
 * @property {'active' | 'reauthRequired'} status
 * @property {Integration} integration
 * @property {AccessTokenPayload} [payload]
 */

/**
 * @typedef {object} TokenRef An IntegrationAccessToken as apps pass it in.
 * @property {string} accessToken the tokenId
 * @property {string} brokerType
 */

/**
 * @typedef {object} Position
 * @property {string} symbol
 * @property {number} amount
 * @property {number} [marketValue]
 */

/**
 * @typedef {object} DisplayRate The exchange's rate of the page's currency (POST /link/api/holdings).
 * @property {string} currency
 * @property {number} rate units of currency per USD
 * @property {string} asOf when the exchange published it (RFC 3339)
 * @property {string} source the exchange's name
 */

/**
 * @typedef {object} Holdings
 * @property {Position[]} [cryptocurrencyPositions]
 * @property {DisplayRate} [display]
 */

/**
 * @typedef {object} TransferPreview A stored, quoted transfer (POST /link/api/transfer/preview,
 *   through internal/account; execute names it by previewId).
 * @property {string} previewId
 * @property {string} symbol
 * @property {string} networkId Mesh's network UUID
 * @property {string} networkName
 * @property {number} amount
 * @property {number} estimatedNetworkGasFee
 * @property {string} [feeCurrency]
 * @property {boolean} feeKnown false when the exchange sets the fee only when it sends
 * @property {number} totalAmount
 * @property {number} [expiresInSeconds] how long the quote can be confirmed
 * @property {string} toAddress
 * @property {string} [addressTag]
 * @property {string} clientTransactionId
 */

/**
 * @typedef {object} TransferAssetNetwork A network an asset can leave on (POST /link/api/transfer/options).
 * @property {string} id Mesh's network UUID
 * @property {string} code
 * @property {string} name
 * @property {boolean} eligible
 * @property {string} [reason] Mesh's ineligibility reason
 * @property {number} [minimum]
 * @property {number} [maximum]
 * @property {number} [fee] the exchange's flat fee, when feeKnown
 * @property {boolean} feeKnown
 * @property {string} [addressPattern] a destination must match it
 * @property {boolean} [tagRequired]
 */

/**
 * @typedef {object} TransferAsset An asset the account can send (POST /link/api/transfer/options).
 * @property {string} symbol
 * @property {number} available
 * @property {TransferAssetNetwork[]} networks
 */

/**
 * @typedef {object} TransferResult An executed transfer (POST /link/api/transfer/execute), or
 *   status mfaRequired / mfaFailed when the exchange asks for a code (nothing moved).
 * @property {string} transferId
 * @property {string} status
 * @property {string} [networkId]
 * @property {string} symbol
 * @property {string} networkName
 * @property {number} amount
 * @property {number} fee
 * @property {string} toAddress
 * @property {string} [hash]
 */

/**
 * @typedef {object} LinkMessage A message of the Link protocol.
 * @property {string} type
 * @property {unknown} [payload]
 */

/**
 * @typedef {object} ApiError An error envelope from /link/api/*.
 * @property {string} [type] errorType
 * @property {string} [display] displayMessage
 * @property {string} [message]
 */

export {};
