/*  test_store_join.c: store_join_decide, the store's answer to a join
 *  token's key registration, over a real key directory: every refusal
 *  (unknown or expired token, another node, another op, several writes, a
 *  bad key, a node that has a key), a dry run, the registration (the node's
 *  key file written; the token spent) and a retry after it; a spent token
 *  after its key is revoked; another identity's public key. */
#include "hs_client.h"
#include "hs_cred.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_token.h"
#include "hs_util.h"
#include "store_join.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define TOKEN "j0in01.abcdefghijklmnop"
#define NOW   1800000000LL

static Hs__Command *s_cmd (Hs__Op op, const char *node, const char *key, int n_writes)
{
    Hs__Command *cmd = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&cmd->client_id, "join-j0in01");
    hs_pb_set_str (&cmd->request_id, "1");
    for (int i = 0; i < n_writes; i++) {
        Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", node);
        if (key) {
            Hs__ObjectMeta *m = hs_obj_meta (o);
            hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                           &hs__object_meta__annotations_entry__descriptor,
                           STORE_JOIN_KEY_ANNOTATION, key);
        }
        hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes, hs_write_new (op, o));
    }
    return cmd;
}

static Hs__Code s_decide (const char *dir, const char *who, Hs__Command *cmd, int64_t now,
                          const char *want_msg)
{
    char *msg = NULL;
    Hs__Code code = store_join_decide (dir, who, cmd, now, &msg);
    if (want_msg) CHECK_CONTAINS (msg, want_msg);
    CHECK (msg != NULL);
    free (msg);
    hs_pb_free (cmd);
    return code;
}

static void test_decide (void)
{
    const char *dir = hs_test_tmpdir ();
    char key[41], sec[41], other[41];
    CHECK_EQ_INT (zmq_curve_keypair (key, sec), 0);
    CHECK_EQ_INT (zmq_curve_keypair (other, sec), 0);
    const char *who = "bootstrap:j0in01";
    const Hs__Code F = HS__CODE__CODE_FORBIDDEN;

    /* no such token */
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW, "not known"), F);
    CHECK_EQ_INT (hs_token_key_write (dir, TOKEN, "n2", NOW + 60), 0);
    /* not a bootstrap identity */
    CHECK_EQ_INT (s_decide (dir, "node:n2", s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW, NULL), F);
    /* expired */
    CHECK_EQ_INT (
        s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW + 60, "expired at"), F);
    /* another node, another op, two writes */
    CHECK_EQ_INT (
        s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n3", key, 1), NOW,
                  "nodes \"n3\" is forbidden: User \"bootstrap:j0in01\" may only register "
                  "the key of node \"n2\""),
        F);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_UPDATE, "n2", key, 1), NOW, "may only"), F);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 2), NOW, "may only"), F);
    /* no key, a bad key */
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", NULL, 1), NOW, "Z85"),
                  HS__CODE__CODE_INVALID);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", "short", 1), NOW, "Z85"),
                  HS__CODE__CODE_INVALID);
    _cleanup_free_ char *node_key = hs_sprintf ("%s/node-n2.key", dir);
    _cleanup_free_ char *token_key = hs_sprintf ("%s/bootstrap-j0in01.key", dir);
    CHECK (access (node_key, F_OK) != 0);
    /* a dry run writes nothing */
    Hs__Command *dry = s_cmd (HS__OP__OP_APPLY, "n2", key, 1);
    dry->dry_run = true;
    CHECK_EQ_INT (s_decide (dir, who, dry, NOW, "dry run"), HS__CODE__CODE_OK);
    CHECK (access (node_key, F_OK) != 0);
    CHECK (access (token_key, F_OK) == 0);
    /* the registration */
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW, "registered"),
                  HS__CODE__CODE_OK);
    hs_cred_key_t k;
    CHECK_EQ_INT (hs_cred_key_read (node_key, NULL, 0, &k), 0);
    CHECK_EQ_STR (k.identity, "node:n2");
    CHECK_EQ_STR (k.role, "node");
    CHECK_EQ_STR (k.public_key, key);
    CHECK_EQ_INT (k.expires, 0);
    /* spent: the node has a key; a resend of the same key is answered OK,
     * another key for n2 with the same token is refused */
    CHECK (access (token_key, F_OK) == 0);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW, "already"),
                  HS__CODE__CODE_OK);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", other, 1), NOW,
                            "already has a key; revoke it first"),
                  F);
    /* the token deleted (hsctl token delete): the resend is still answered */
    CHECK_EQ_INT (unlink (token_key), 0);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", key, 1), NOW, "already"),
                  HS__CODE__CODE_OK);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", other, 1), NOW, "not known"),
                  F);
    /* a fresh token for a node that has a key cannot replace it */
    CHECK_EQ_INT (hs_token_key_write (dir, TOKEN, "n2", NOW + 60), 0);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_CREATE, "n2", other, 1), NOW,
                            "already has a key; revoke it first"),
                  F);
    CHECK_EQ_INT (hs_cred_key_read (node_key, NULL, 0, &k), 0);
    CHECK_EQ_STR (k.public_key, key);
    /* n2's key revoked (hsctl keys revoke node-n2): the token that
     * registered it registers no other, not even while its file is there */
    CHECK (hs_token_spent (dir, "j0in01"));
    CHECK_EQ_INT (hs_cred_key_remove (dir, "node-n2"), 0);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n2", other, 1), NOW,
                            "the join token j0in01 was used already"),
                  F);
    CHECK (access (node_key, F_OK) != 0);
}

/* A join may not register a public key that is already some identity's:
 * the store's, an admin's, the token's own. */
static void test_key_taken (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/taken", hs_test_tmpdir ());
    CHECK_EQ_INT (mkdir (dir, 0755), 0);
    char store_pub[41], sec[41], mine[41];
    CHECK_EQ_INT (zmq_curve_keypair (store_pub, sec), 0);
    CHECK_EQ_INT (zmq_curve_keypair (mine, sec), 0);
    CHECK_EQ_INT (hs_cred_key_write (dir, "store", store_pub, "store", 0), 0);
    CHECK_EQ_INT (hs_token_key_write (dir, TOKEN, "n5", NOW + 60), 0);
    hs_token_key_t tk;
    CHECK_EQ_INT (hs_token_key_read (dir, "j0in01", NULL, 0, &tk), 0);
    const char *who = "bootstrap:j0in01";
    const Hs__Code F = HS__CODE__CODE_FORBIDDEN;
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n5", store_pub, 1), NOW,
                            "it is already the key of store.key"),
                  F);
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n5", tk.public_key, 1), NOW,
                            "it is already the key of bootstrap-j0in01.key"),
                  F);
    _cleanup_free_ char *node_key = hs_sprintf ("%s/node-n5.key", dir);
    CHECK (access (node_key, F_OK) != 0);
    CHECK (!hs_token_spent (dir, "j0in01")); /* refusals do not spend it */
    CHECK_EQ_INT (s_decide (dir, who, s_cmd (HS__OP__OP_APPLY, "n5", mine, 1), NOW, "registered"),
                  HS__CODE__CODE_OK);
    CHECK (hs_token_spent (dir, "j0in01"));
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"decide", test_decide},
        {"key_taken", test_key_taken},
    };
    return HS_TEST_RUN (tests);
}
