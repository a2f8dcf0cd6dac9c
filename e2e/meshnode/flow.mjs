// Drives Mesh's own REST client, @meshconnect/node-api (FrontApi, generated from
// FrontFin/mesh-web-sdk packages/node-api/swagger.json), against a running linkvault.
// meshnode_test.go starts the binary, connects an account through Link and runs this
// script; it prints one JSON line per call ({op, status, body}) for the Go test to check
// (and to validate against Mesh's schemas).
import { FrontApi } from '@meshconnect/node-api';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const api = new FrontApi({
  baseURL: env('LV_URL'),
  headers: { 'X-Client-Id': env('LV_CLIENT_ID'), 'X-Client-Secret': env('LV_CLIENT_SECRET') },
  validateStatus: () => true, // the test judges every status
});
const token = env('LV_TOKEN_ID');
const type = env('LV_BROKER_TYPE');

const out = (op, method, path, res) =>
  process.stdout.write(JSON.stringify({ op, method, path, status: res.status, body: res.data }) + '\n');

const m = api.managedTransfers;
let r = await api.managedAccountAuthentication.v1IntegrationsList();
out('integrations', 'GET', '/api/v1/integrations', r);
const integrationId = r.data.content.items.find((i) => i.type === type).id;
r = await api.managedAccountAuthentication.v1LinktokenCreate({ userId: 'node-api-user', integrationId });
out('linktoken', 'POST', '/api/v1/linktoken', r);
r = await api.managedAccountAuthentication.v1StatusList();
out('status', 'GET', '/api/v1/status', r);
r = await m.v1TransfersManagedNetworksList();
out('networks', 'GET', '/api/v1/transfers/managed/networks', r);
const ethereum = r.data.content.networks.find((n) => n.name === 'Ethereum').id;
r = await m.v1TransfersManagedTokensList();
out('tokens', 'GET', '/api/v1/transfers/managed/tokens', r);
r = await m.v1TransfersManagedIntegrationsList();
out('transferIntegrations', 'GET', '/api/v1/transfers/managed/integrations', r);
r = await api.portfolio.v1HoldingsGetCreate({ authToken: token, type });
out('holdings', 'POST', '/api/v1/holdings/get', r);
r = await api.portfolio.v1HoldingsValueCreate({ authToken: token, type });
out('holdingsValue', 'POST', '/api/v1/holdings/value', r);
r = await api.balance.v1BalanceGetCreate({ authToken: token, type });
out('balance', 'POST', '/api/v1/balance/get', r);
r = await m.v1TransfersManagedConfigureCreate({ fromAuthToken: token, fromType: type, networkId: ethereum });
out('configure', 'POST', '/api/v1/transfers/managed/configure', r);
r = await m.v1TransfersManagedPreviewCreate({
  fromAuthToken: token, fromType: type, networkId: ethereum, symbol: 'ETH',
  toAddress: '0x326a8825472bb0f4719998e708a1eeeb4473ed1b', amount: 0.01, transactionId: 'node-api-1',
});
out('preview', 'POST', '/api/v1/transfers/managed/preview', r);
const previewId = r.data.content.previewResult.previewId;
r = await m.v1TransfersManagedExecuteCreate({ fromAuthToken: token, fromType: type, previewId });
out('execute', 'POST', '/api/v1/transfers/managed/execute', r);
r = await m.v1TransfersManagedExecuteCreate({ fromAuthToken: token, fromType: type, previewId });
out('executeAgain', 'POST', '/api/v1/transfers/managed/execute', r);
r = await m.v1TransfersManagedMeshList({ Id: previewId });
out('transferStatus', 'GET', '/api/v1/transfers/managed/mesh', r);
r = await m.v1TransfersManagedMeshList({ Count: 10 });
out('transferHistory', 'GET', '/api/v1/transfers/managed/mesh', r);
r = await m.v1TransfersManagedMeshList({ UserId: 'node-api-user', Count: 10 });
out('transferHistoryByUser', 'GET', '/api/v1/transfers/managed/mesh', r);
r = await m.v1TransfersManagedAddressGetCreate({ authToken: token, type, symbol: 'ETH', networkId: ethereum });
out('depositAddress', 'POST', '/api/v1/transfers/managed/address/get', r);
r = await api.transfers.v1TransfersListCreate({ authToken: token, type, count: 10 });
out('transfersList', 'POST', '/api/v1/transfers/list', r);
r = await api.integrationsAccountInformation.v1ExchangeVerifyCreate({ authToken: token, integrationId, accountInfo: ['email'] });
out('exchangeVerify', 'POST', '/api/v1/exchange/verify', r);
r = await api.managedAccountAuthentication.v1TokenRefreshCreate({ refreshToken: token, type });
out('tokenRefresh', 'POST', '/api/v1/token/refresh', r);
r = await m.v1TransfersManagedQuoteCreate({});
out('quote', 'POST', '/api/v1/transfers/managed/quote', r);
r = await api.transactions.v1TransactionsListCreate({ authToken: token, type });
out('transactionsList', 'POST', '/api/v1/transactions/list', r);
