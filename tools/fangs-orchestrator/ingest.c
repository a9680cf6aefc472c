/*
 * fangs-orchestrator/ingest.c - group commit of event batches.
 *
 * Batches are decoded in the HTTP worker threads; storing them is
 * serial. Instead of one transaction per batch, the thread that finds no
 * writer at work becomes the writer and stores every batch queued until
 * then in one transaction: under load each transaction carries several
 * batches, and the index pages they share are written once.
 */
#include "orchestrator.h"

void ingest_submit(orch *o, ingest_item *item)
{
	pthread_mutex_lock(&o->in_lock);
	item->next = o->in_head;
	o->in_head = item;
	while (!item->done) {
		ingest_item *group;
		if (o->in_writer) {
			pthread_cond_wait(&o->in_cond, &o->in_lock);
			continue;
		}
		o->in_writer = 1;
		group = o->in_head;
		o->in_head = NULL;
		pthread_mutex_unlock(&o->in_lock);

		pthread_mutex_lock(&o->st_lock);
		api_store_batches(o, group);
		pthread_mutex_unlock(&o->st_lock);

		pthread_mutex_lock(&o->in_lock);
		for (ingest_item *it = group, *next; it; it = next) {
			next = it->next;
			it->done = 1;
		}
		o->in_writer = 0;
		pthread_cond_broadcast(&o->in_cond);
	}
	pthread_mutex_unlock(&o->in_lock);
}
