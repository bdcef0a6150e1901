// The room catalog (en).
export default {
};
