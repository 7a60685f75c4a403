# Ticket daemon modules that unit tests link: included by tests/unit/Makefile
# (like gateway.mk). The pure ticket object writer (ticket_json.c) is compiled
# into test_ticket_json with the daemon's own header folder on the include path.
TICKET_DIR := $(ROOT)/services/ticket
TICKET_UNIT_SRCS := $(TICKET_DIR)/ticket_json.c

$(OUT)/test_ticket_json: test_ticket_json.c $(TICKET_UNIT_SRCS) $(wildcard $(TICKET_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(TICKET_DIR) $(CMOCKA_CFLAGS) $< $(TICKET_UNIT_SRCS) -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)

# The shared-list key (list_key.c): what a page shared between list requests depends on.
$(OUT)/test_list_key: test_list_key.c $(TICKET_DIR)/list_key.c $(wildcard $(TICKET_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(TICKET_DIR) $(CMOCKA_CFLAGS) $< $(TICKET_DIR)/list_key.c -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)

# The list statements by sort order and present filters (ticket_list_sql.c).
$(OUT)/test_list_sql: test_list_sql.c $(TICKET_DIR)/ticket_list_sql.c $(wildcard $(TICKET_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(TICKET_DIR) $(CMOCKA_CFLAGS) $< $(TICKET_DIR)/ticket_list_sql.c -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)
