// IAM tokens: aws-sdk-dsql's published vector byte for byte, and signature-identical to the AWS
// JS signer (@aws-sdk/dsql-signer) for the same inputs and instant.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { generateToken } = require('../index.js')
const { DsqlSigner } = require('@aws-sdk/dsql-signer')

const VECTOR_TIME = Date.UTC(2024, 7, 27)
const ADMIN = 'peccy.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=267cf8d04d84444f7a62d5bdb40c44bfc6cb13dd6c64fa7f772df6bbaa90fff1'
const USER = 'peccy.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=f5f2ad764ca5df44045d4ab6ccecba0eef941b0007e5765885a0b6ed3702a3f8'

const base = { hostname: 'peccy.dsql.us-east-1.on.aws', region: 'us-east-1', expiresIn: 450, accessKeyId: 'akid', secretAccessKey: 'secret', timeMs: VECTOR_TIME }

test('tokens equal the published aws-sdk-dsql vector at a frozen time', async () => {
  assert.equal(await generateToken({ ...base, admin: true }), ADMIN)
  assert.equal(await generateToken({ ...base, admin: false }), USER)
})

const params = t => Object.fromEntries(new URL('https://' + t).searchParams)

test('signatures match @aws-sdk/dsql-signer for the same inputs', async () => {
  const cases = [
    { hostname: 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws', region: 'eu-west-1', expiresIn: 900, admin: true },
    { hostname: 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws', region: 'eu-west-1', expiresIn: 3600, admin: false },
    { hostname: 'c1.dsql-fnh4.ap-south-1.on.aws', region: 'ap-south-1', expiresIn: 604800, admin: true, sessionToken: 'IQoJb3JpZ2luX2VjE+/=token' }
  ]
  const now = Date.UTC(2026, 10, 27, 12, 34, 56)
  mock.timers.enable({ apis: ['Date'], now })
  try {
    for (const c of cases) {
      const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: c.sessionToken }
      const signer = new DsqlSigner({ hostname: c.hostname, region: c.region, expiresIn: c.expiresIn, credentials })
      const theirs = c.admin ? await signer.getDbConnectAdminAuthToken() : await signer.getDbConnectAuthToken()
      const ours = await generateToken({ hostname: c.hostname, region: c.region, expiresIn: c.expiresIn, admin: c.admin, ...credentials, timeMs: now })
      assert.deepEqual(params(ours), params(theirs), JSON.stringify(c))
      assert.equal(ours.split('?')[0], theirs.split('?')[0])
    }
  } finally {
    mock.timers.reset()
  }
})

test('token options are range-checked', async () => {
  await assert.rejects(generateToken({ ...base, admin: true, expiresIn: 604801 }), RangeError)
  await assert.rejects(generateToken({ ...base, admin: true, expiresIn: 0 }), RangeError)
})
