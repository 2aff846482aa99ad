#!/bin/sh
# Started by plugback-systemtest.service in the guest with the payload disk mounted at /payload.
exec /payload/node /payload/guest-driver.mjs
