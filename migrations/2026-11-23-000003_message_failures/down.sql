DROP TABLE message_failures;
