#!/bin/sh
# Started by plugback-systemtest.service in the guest with the payload disk mounted at /payload.
# params.json's `driver` names the guest module to run (the power-cut test's); guest-driver.mjs by default.
driver=$(/payload/node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync("/payload/params.json", "utf8")).driver || "guest-driver.mjs")')
exec /payload/node "/payload/$driver"
