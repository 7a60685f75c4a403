# Knowledge daemon modules that unit tests link: included by tests/unit/Makefile
# (like ticket.mk). The search result cache's key material (search_key.c).
KNOWLEDGE_DIR := $(ROOT)/services/knowledge

$(OUT)/test_kb_search_key: test_kb_search_key.c $(KNOWLEDGE_DIR)/search_key.c $(wildcard $(KNOWLEDGE_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(KNOWLEDGE_DIR) $(CMOCKA_CFLAGS) $< $(KNOWLEDGE_DIR)/search_key.c -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)
