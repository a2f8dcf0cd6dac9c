-- Rows written by storetest.Populate through the store code of commit 4dfff85 (before the two
-- stores were unified), into a database at migration version 4, dumped data-only with
-- sqlite3's ".mode insert", one table at a time. Loaded by TestUpgradeFromVersion4.
INSERT INTO clients VALUES('fixture-app','Fixture App','https://app.example/hooks',1931267366535897000);
INSERT INTO clients VALUES('fixture-quiet','','',1931267367535897000);
INSERT INTO api_keys VALUES('key-read','fixture-app','read',X'a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5',1931267366535897000,NULL);
INSERT INTO api_keys VALUES('key-write','fixture-app','write',X'5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a',1931267426535897000,1931270966535897000);
INSERT INTO data_keys VALUES('fixture-app',1,X'7265777261707065642d31',2,1931267366535897000);
INSERT INTO data_keys VALUES('fixture-app',2,X'777261707065642d32',1,1931270966535897000);
INSERT INTO connections VALUES('fixture-token-full','fixture-app','user-é-1','coinbase','write','active','[{"accountId":"acc-1","accountName":"Main","fund":12.5,"cash":3.25},{"accountId":"acc-2","accountName":"Savings \"quoted\"","fund":0.125,"cash":0}]',X'0001feff78',2,1931270966535897000,1977923366535897000,1931270366535897000,2,'invalid_grant','replica-1',1931270666535897000,2,1931267366535897000,1931270400123456000);
INSERT INTO connections VALUES('fixture-token-minimal','fixture-app','user-2','uphold','read','reauth_required','null',NULL,0,NULL,NULL,NULL,0,'','',NULL,1,1931267367535897000,1931267367535897000);
INSERT INTO webhook_events VALUES('evt-created','fixture-app','connection.created','fixture-token-full','{"tokenId":"fixture-token-full","brokerType":"coinbase"}',1931267366535897000,1931267369535897000,1,NULL,'',NULL,204,'','delivered');
INSERT INTO webhook_events VALUES('evt-minimal','fixture-app','connection.reauth_required','fixture-token-minimal','{}',1931267367535897000,NULL,1,1931270966535897000,'',NULL,503,'http_503','');
INSERT INTO webhook_events VALUES('evt-warning','fixture-app','connection.expiry_warning','fixture-token-full','{}',1931267368535897000,NULL,0,1931267368535897000,'',NULL,0,'','');
INSERT INTO webhook_deliveries VALUES('evt-created',1,'fixture-app',204,'',15,1931267369535897000);
INSERT INTO webhook_deliveries VALUES('evt-minimal',1,'fixture-app',503,'http_503',40,1931267370535897000);
INSERT INTO webhook_secrets VALUES('fixture-app',1,X'7365616c65642d7365637265742d31',1,1931267366535897000,1931357366535897000);
INSERT INTO webhook_secrets VALUES('fixture-app',2,X'7365616c65642d7365637265742d32',2,1931270966535897000,NULL);
INSERT INTO link_sessions VALUES('fixture-session-opened','fixture-app','user-é-1','write','{"restrictMultipleAccounts":true,"integrationId":"int-1","brokerType":"coinbase"}',1931267366535897000,1931269226535897000,1931267426535897000,'fixture-page-key','fixture-state-key',X'deadbeef',2,'{"kind":"connected","tokenIds":["fixture-token-full"]}',3);
INSERT INTO link_sessions VALUES('fixture-session-new','fixture-app','user-2','read','{}',1931267367535897000,1931268026535897000,NULL,NULL,NULL,NULL,0,NULL,1);
INSERT INTO audit_log VALUES(1,'fixture-app','key-read','fixture-token-full','68359a45beac985b','coinbase','holdings.get','ok',200,1500,1931267366535897000);
INSERT INTO audit_log VALUES(2,'fixture-app','key-read','','ba9c736f19e7f60b','','balance.get','tokenNotFound',404,0,1931267367535897000);
INSERT INTO audit_log VALUES(3,'fixture-quiet','key-x','','d9298a10d1b07358','','holdings.get','ok',200,0,1931267368535897000);
INSERT INTO transfers VALUES('fixture-app','tx-done','fixture-token-full',X'a4c3ed04a95a3da14a9d235c83d868bed7c0f45cf7f3faa751ee8f50598d2211','completed','provider-tx-1','{"status":"succeeded","amount":"0.5"}',1,1931270400123456000,1931270400123456000);
INSERT INTO transfers VALUES('fixture-app','tx-open','fixture-token-full',X'2348f998744212575d85959674f9607ab26f67708a917157472832386337c904','executing','',NULL,1,1931270400123456000,1931270400123456000);
