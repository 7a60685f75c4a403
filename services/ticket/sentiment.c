/* The sentiment of customer text on a ticket (docs/architecture.md,
 * "Sentiment"): the AFINN-165 score of hd/sentiment.h, computed here when a
 * customer opens a ticket or comments, and stored on the ticket as its
 * latest value (sql/022_sentiment.sql), where automation conditions read it. */
#include <stdio.h>
#include <string.h>
#include "hd/sentiment.h"
#include "ticket.h"

void tk_sentiment_param(const char *a, const char *b, char out[TK_SENTIMENT_MAX])
{
	hd_sentiment sa, sb;
	hd_sentiment_score(a, a != NULL ? strlen(a) : 0, &sa);
	hd_sentiment_score(b, b != NULL ? strlen(b) : 0, &sb);
	snprintf(out, TK_SENTIMENT_MAX, "%d", sa.score + sb.score);
}
