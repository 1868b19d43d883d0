/** The exact AWS actions each function is granted ship in `@soe/cdk` (packages/cdk/src/permissions.ts). */
export {
  CONSUME_ACTIONS,
  KEY_DECRYPT_ACTIONS,
  KEY_ENCRYPT_ACTIONS,
  SEND_ACTIONS,
  TABLE_ACTIONS,
  VISIBILITY_ACTIONS,
  WRITES_EXECUTION_ITEMS,
} from '@soe/cdk';
