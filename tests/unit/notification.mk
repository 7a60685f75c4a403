# Notification daemon modules that unit tests link: the address guard, the
# webhook URL check, the signature/backoff and the mail builder
# (services/notification/guard.c, url.c, sign.c, mail.c), with libcurl for url.c's parser.
NT_DIR := $(ROOT)/services/notification
NT_SRCS := $(NT_DIR)/guard.c $(NT_DIR)/url.c $(NT_DIR)/sign.c $(NT_DIR)/mail.c

$(OUT)/test_notification: test_notification.c $(NT_SRCS) $(wildcard $(NT_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(NT_DIR) $(CMOCKA_CFLAGS) $< $(NT_SRCS) -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) \
		$(PKG_LIBS) $(shell pkg-config --libs libcurl)

# Mail in (services/notification/inbound_text.c, inbound.c) with GMime.
NT_IN_SRCS := $(NT_DIR)/inbound_text.c $(NT_DIR)/inbound.c $(NT_DIR)/mail.c
NT_GMIME_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags gmime-3.0))
$(OUT)/test_inbound: test_inbound.c $(NT_IN_SRCS) $(wildcard $(NT_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) $(NT_GMIME_CFLAGS) -I$(NT_DIR) $(CMOCKA_CFLAGS) $< $(NT_IN_SRCS) -o $@ $(LIBHD) \
		$(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS) $(shell pkg-config --libs gmime-3.0)

# Mailbox passwords at rest (services/notification/seal.c), OpenSSL only.
$(OUT)/test_seal: test_seal.c $(NT_DIR)/seal.c $(wildcard $(NT_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(NT_DIR) $(CMOCKA_CFLAGS) $< $(NT_DIR)/seal.c -o $@ $(LIBHD) $(LDFLAGS) \
		$(CMOCKA_LIBS) $(PKG_LIBS)

# Mail in's IMAP text (services/notification/imap.c), pure.
$(OUT)/test_imap: test_imap.c $(NT_DIR)/imap.c $(wildcard $(NT_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(NT_DIR) $(CMOCKA_CFLAGS) $< $(NT_DIR)/imap.c -o $@ $(LIBHD) $(LDFLAGS) \
		$(CMOCKA_LIBS) $(PKG_LIBS)
